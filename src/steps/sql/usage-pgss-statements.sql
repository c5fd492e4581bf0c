-- Top-level statements of this database whose text names the table ($1) and the column ($2, NULL
-- for a table), or one of the views and functions that use them ($3, word patterns), with their call counts. The view's schema is filled in by
-- pgrunbook (it is wherever the extension was created). pgrunbook's own are left out by their text
-- (the view keeps no session or application_name): the statistics views and statements naming
-- pgrunbook (its backfill's __pgrunbook_ aliases, its schema). The runbook's own statements ($4,
-- whitespace collapsed) are kept but marked `own`: pg_stat_statements merges the application's calls
-- of the same shape into the same entry, so only calls made while pgrunbook runs nothing (the quiet
-- period) are certain to be the application's. Same on PG 14-18.
SELECT queryid::text AS queryid, calls::bigint AS calls, left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query,
       regexp_replace(btrim(query), '\s+', ' ', 'g') = ANY ($4::text[]) AS own
FROM {pgss}
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND toplevel
  AND ((query ~* $1 AND ($2::text IS NULL OR query ~* $2)) OR query ~* ANY ($3::text[]))
  AND query !~* 'pg_stat_statements|pg_stat_user_tables|pg_locks|pgrunbook'
