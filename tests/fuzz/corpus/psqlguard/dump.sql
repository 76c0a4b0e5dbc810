--
-- PostgreSQL database dump
--
\restrict abcDEF123
SET statement_timeout = 0;
SET standard_conforming_strings = on;
CREATE TABLE public.t (id integer, v text);
COPY public.t (id, v) FROM stdin;
1	a\tb
2	\N
3	\\.
\.
CREATE FUNCTION public.f() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN RETURN 1; -- \! not a command
END $$;
CREATE FUNCTION public.g() RETURNS integer LANGUAGE sql BEGIN ATOMIC SELECT 'it''s \ fine'; END;
\connect zync
\unrestrict abcDEF123
