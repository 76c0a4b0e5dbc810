SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
CREATE TABLE public.paths (
    id integer NOT NULL,
    p text,
    dir text DEFAULT 'D:\'::text
);
COMMENT ON COLUMN public.paths.p IS 'ends in \';
INSERT INTO public.paths VALUES (1, 'C:\', 'D:\');
INSERT INTO public.paths VALUES (8, 'q\'' \! touch /nonexistent', 'D:\');
INSERT INTO public.paths VALUES (9, 'Josà', 'D:\');
