set Transaction_Timeout TO 0;
SET LOCAL "lock_timeout" = 0 ;
SELECT pg_catalog.set_config('Statement_Timeout', '0', false);
