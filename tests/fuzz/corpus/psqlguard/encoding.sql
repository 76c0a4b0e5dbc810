SET client_encoding = 'SJIS';
SELECT 'Å' , ' \! id
';
SET client_encoding = 'UTF8';
SELECT 'Å' , ' \! id
', $$‚Ç¨$$;
\connect db
SELECT '√†';
