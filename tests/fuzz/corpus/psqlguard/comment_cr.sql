SELECT 1; -- x\! id
