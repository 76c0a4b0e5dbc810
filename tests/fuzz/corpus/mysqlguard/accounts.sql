GRANT ALL ON *.* TO 'x'@'%';
SET sql_mode = 'NO_BACKSLASH_ESCAPES';
SELECT 'a\';
