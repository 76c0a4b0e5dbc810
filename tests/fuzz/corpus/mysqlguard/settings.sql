SET NAMES sjis;
DELIMITER ;;
SELECT '•\'; USE other; SELECT ';;
DELIMITER ;
SET @saved = @@sql_mode; SET sql_mode = @saved, @x = CONCAT(@saved, ',ANSI');
SELECT 1 -- ; USE other;
