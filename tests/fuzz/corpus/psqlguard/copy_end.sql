COPY t FROM stdin;
1
\.x
\.
