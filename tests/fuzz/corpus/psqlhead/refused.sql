SET lock_timeout = 0;
SET transaction_timeout = 5;
SET new_thing = on;
