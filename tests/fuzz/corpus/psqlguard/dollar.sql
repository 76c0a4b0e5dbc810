SELECT $tag$ \o |cat $tag$;
\o |cat
