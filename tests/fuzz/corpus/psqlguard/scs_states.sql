SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false);
SELECT 'a\'' \! id
';
SET standard_conforming_strings = off;
SELECT 'a\'b', E'c\'', U&'d\' \! id
';
RESET ALL;
SELECT E'x''y\'' \! id ';
