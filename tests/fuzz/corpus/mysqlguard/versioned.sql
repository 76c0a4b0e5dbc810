/*M!999999 SELECT 1, */ USE other;
/*M!999999 ' */ USE other; SELECT '
';
/*!40000 -- x */ USE other;
/*!40000 SELECT 'a*b' */;
