/*M!999999\- enable the sandbox mode */ 
SELECT 1;
/*M!999999\- x */ USE other;
