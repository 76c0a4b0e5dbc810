--
-- PostgreSQL database dump
--

\restrict ApXoi2DorD6xTEO3C6PvsXb2j5tqYJIHkpzQ4gfqDj6D4hz3f0UZ7Sx6tA8BHBr

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

ALTER TABLE IF EXISTS ONLY public.tenants DROP CONSTRAINT IF EXISTS tenants_pkey;
ALTER TABLE IF EXISTS public.tenants ALTER COLUMN id DROP DEFAULT;
DROP TABLE IF EXISTS public.zz_audit;
DROP SEQUENCE IF EXISTS public.tenants_id_seq;
DROP VIEW IF EXISTS public.tenant_names;
DROP TABLE IF EXISTS public.tenants;
DROP TABLE IF EXISTS public.notes;
DROP FUNCTION IF EXISTS public.tenant_count();
--
-- Name: tenant_count(); Type: FUNCTION; Schema: public; Owner: zync
--

CREATE FUNCTION public.tenant_count() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
BEGIN
-- a body line that reads like pg_dump's statement
ALTER TABLE public.tenants OWNER TO zync;
RETURN (SELECT count(*) FROM tenants);
END
$$;


ALTER FUNCTION public.tenant_count() OWNER TO zync;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: notes; Type: TABLE; Schema: public; Owner: zync
--

CREATE TABLE public.notes (
    line text
);


ALTER TABLE public.notes OWNER TO zync;

--
-- Name: tenants; Type: TABLE; Schema: public; Owner: zync
--

CREATE TABLE public.tenants (
    id integer NOT NULL,
    name text
);


ALTER TABLE public.tenants OWNER TO zync;

--
-- Name: tenant_names; Type: VIEW; Schema: public; Owner: zync
--

CREATE VIEW public.tenant_names AS
 SELECT tenants.name
   FROM public.tenants;


ALTER TABLE public.tenant_names OWNER TO zync;

--
-- Name: tenants_id_seq; Type: SEQUENCE; Schema: public; Owner: zync
--

CREATE SEQUENCE public.tenants_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.tenants_id_seq OWNER TO zync;

--
-- Name: tenants_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: zync
--

ALTER SEQUENCE public.tenants_id_seq OWNED BY public.tenants.id;


--
-- Name: zz_audit; Type: TABLE; Schema: public; Owner: auditor
--

CREATE TABLE public.zz_audit (
    id integer
);


ALTER TABLE public.zz_audit OWNER TO auditor;

--
-- Name: tenants id; Type: DEFAULT; Schema: public; Owner: zync
--

ALTER TABLE ONLY public.tenants ALTER COLUMN id SET DEFAULT nextval('public.tenants_id_seq'::regclass);


--
-- Data for Name: notes; Type: TABLE DATA; Schema: public; Owner: zync
--

COPY public.notes (line) FROM stdin;
ALTER TABLE public.tenants OWNER TO zync;
\.


--
-- Data for Name: tenants; Type: TABLE DATA; Schema: public; Owner: zync
--

COPY public.tenants (id, name) FROM stdin;
1	one
2	two
\.


--
-- Data for Name: zz_audit; Type: TABLE DATA; Schema: public; Owner: auditor
--

COPY public.zz_audit (id) FROM stdin;
\.


--
-- Name: tenants_id_seq; Type: SEQUENCE SET; Schema: public; Owner: zync
--

SELECT pg_catalog.setval('public.tenants_id_seq', 2, true);


--
-- Name: tenants tenants_pkey; Type: CONSTRAINT; Schema: public; Owner: zync
--

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner
--

GRANT CREATE ON SCHEMA public TO auditor;


--
-- Name: TABLE tenants; Type: ACL; Schema: public; Owner: zync
--

GRANT SELECT ON TABLE public.tenants TO reader;


--
-- PostgreSQL database dump complete
--

\unrestrict ApXoi2DorD6xTEO3C6PvsXb2j5tqYJIHkpzQ4gfqDj6D4hz3f0UZ7Sx6tA8BHBr

