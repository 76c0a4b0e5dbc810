--
-- PostgreSQL database dump
--

\restrict Kx9

-- Dumped from database version 15.18
-- Dumped by pg_dump version 17.12

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

CREATE TABLE public.t (x text);
COPY public.t (x) FROM stdin;
SET transaction_timeout = 0;
\.

\unrestrict Kx9
