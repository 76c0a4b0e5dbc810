SELECT 'a\'';
