--
-- PostgreSQL database cluster dump
--atabase "postgres" dump
--

--
-- PostgreSQL database dump
--

\restrict M7arMhm30CB21UVC4b8LvcSVk2ws4hBxU3ibWDjDeha8hetT22jZYy89E7rGxbx

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

DROP DATABASE postgres;
--
-- Name: postgres; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE postgres WITH TEMPLATE = template1 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE postgres OWNER TO postgres;

\unrestrict M7arMhm30CB21UVC4b8LvcSVk2ws4hBxU3ibWDjDeha8hetT22jZYy89E7rGxbx
\connect postgres
\restrict M7arMhm30CB21UVC4b8LvcSVk2ws4hBxU3ibWDjDeha8hetT22jZYy89E7rGxbx

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET x_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

UPDATE pg_catalog.pg_database SET datistemplate = false WHERE datname = 'template1';
DROP DATABASE template1;
--
-- Name: template1; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE template1 WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE template1 OWNER TO postgres;

\unrestrict n1YxlGQpVseFikujbTdMBmdFxrjkRigefs8mTP3Sb7bAXbfBeHsEuwnvOEoSoxN
\connect template1
\restrict n1YxlGQpVseFikujbTdMBmdFxrjkRigefs8mTP3Sb7bAXbfBeHsEuwnvOEoSoxN

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = fals1e;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: DATABASE template1; Type: COMMENT; Schema: -; Owner: postgres
--

COMMENT ON DATABASE template1 IS 'default template for new databases';


--
-- Name: template1; Type: DATABASE PROPERTIES; Schema: -; Owner: postgres
--

ALTER DATABASE template1 IS_TEMPLATE = true;


\unrestrict n1YxlGQpVseFikujbTdMBmdFxrjkRigefs8mTP3Sb7bAXbfBeHsEuwnvOEoSoxN
\connect template1
\restrict n1YxlGQpVseFikujbTdMBmdFxrjkRigefs8mTP3Sb7bAXbfBeHsEuwnvOEoSoxN

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET staodard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: DATABASE template1; Type: ACL; Schema: -; Owner: postgres
--

REVOKE CONNECT,TEMPORARY ON DATABASE template1 FROM PUBLIC;
GRANT CONNECT ON DATABASE template1 TO PUBLIC;


--
-- PostgreSQL database dump complete
--

\unrestrict n1YxlGQpVseFikujbTdMBmdFxrjkRigefs8mTP3Sb7bAXbfBeHsEuwnvOEoSoxN

--
-- Database "other" dump
--

--
-- PostgreSQL database dump
--

\restrict kOTAI30Db38Ru5EaOUOMCvCQMewwfg8XBPTsFkUjWQOfCa6nrMqBwi2FHbUqaUN

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

--
-- Name: other; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE other WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE other OWNER TO postgres;

\unrestrict kOTAI30Db38Ru5EaOUOMCvCQMewwfg8XBPTsFkUjWQOfCa6nrMqBwi2FHbUqaUN
\connect other
\restrict kOTAI30Db38Ru5EaOUOMCvCQMewwfg8XBPTsFkUjWQOfCa6nrMqBwi2FHbUqaUN

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

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: o; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.o (
    x integer
);


ALTER TABLE public.o OWNER TO postgres;

--
-- Data for Name: o; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.o (x) FROM stdin;
7
\.


--
-- PostgreSQL database dump complete
--

\unrestrict kOTAI30Db38Ru5EaOUOMCvCQMewwfg8XBPTsFkUjWQOfCa6nrMqBwi2FHbUqaUN

--
-- Database "postgres" dump
--

--
-- PostgreSQL database dump
--

\restrict M7arMhm30CB21UVC4b8LvcSVk2ws4hBxU3ibWDjDeha8hetT22jZYy89E7rGxbx

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

DROP DATABASE postgres;
--
-- Name: postgres; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE postgres WITH TEMPLATE = template1 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE postgres OWNER TO postgres;

\unrestrict M7arMhm30CB21UVC4b8LvcSVk2ws4hBxU3ibWDjDeha8hetT22jZYy89E7rGxbx
\connect postgres
\restrict M7arMhm30CB21UVC4b8LvcSVk2ws4hBxU3ibWDjDeha8hetT22jZYy89E7rGxbx

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

--
-- Name: DATABASE postgres; Type: COMMENT; Schema: -; Owner: postgres
--

COMMENT ON DATABASE postgres IS 'default administrative connection database';


--
-- PostgreSQL database dump complete
--

\unrestrict M7arMhm30CB21UVC4b8LvcSVk2ws4hBxU3ibWDjDeha8hetT22jZYy89E7rGxbx

--
-- Database "zync_production" dump
--

--
-- PostgreSQL database dump
--

\restrict zmrtktGka87EOEcBCZUrcMumPV3VlAoUkW15OOecdcH8b5Zuw3ktDOG7r5DAKx0

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

--
-- Name: zync_production; Type: DATABASE; Schema: -; Owner: zync
--

CREATE DATABASE zync_production WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE zync_production OWNER TO zync;

\unrestrict zmrtktGka87EOEcBCZUrcMumPV3VlAoUkW15OOecdcH8b5Zuw3ktDOG7r5DAKx0
\connect zync_production
\restrict zmrtktGka87EOEcBCZUrcMumPV3VlAoUkW15OOecdcH8b5Zuw3ktDOG7r5DAKx0

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

--
-- Name: zync_production; Type: DATABASE PROPERTIES; Schema: -; Owner: zync
--

ALTER DATABASE zync_production SET work_mem TO '8MB';


\unrestrict zmrtktGka87EOEcBCZUrcMumPV3VlAoUkW15OOecdcH8b5Zuw3ktDOG7r5DAKx0
\connect zync_production
\restrict zmrtktGka87EOEcBCZUrcMumPV3VlAoUkW15OOecdcH8b5Zuw3ktDOG7r5DAKx0

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

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: tenants; Type: TABLE; Schema: public; Owner: zync
--

CREATE TABLE public.tenants (
    id integer NOT NULL,
    t text
);


ALTER TABLE public.tenants OWNER TO zync;

--
-- Data for Name: tenants; Type: TABLE DATA; Schema: public; Owner: zync
--

COPY public.tenants (id, t) FROM stdin;
1	a
2	-- PostgreSQL database dump complete
3	\\connect x
\.


--
-- Name: tenants tenants_pkey; Type: CONSTRAINT; Schema: public; Owner: zync
--

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);


--
-- Name: TABLE tenants; Type: ACL; Schema: public; Owner: zync
--

GRANT SELECT ON TABLE public.tenants TO PUBLIC;


--
-- PostgreSQL database dump complete
--

\unrestrict zmrtktGka87EOEcBCZUrcMumPV3VlAoUkW15OOecdcH8b5Zuw3ktDOG7r5DAKx0

--
-- PostgreSQL database cluster dump complete
--

