-- Names of the types ($1 oids) a --targets-query returned, for its error messages.
SELECT oid::int AS oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1::oid[])
