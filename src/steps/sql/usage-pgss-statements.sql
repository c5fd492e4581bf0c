-- Top-level statements of this database whose text names the table ($1) and the column ($2, NULL
-- for a table), or one of the views and functions that use them ($3, word patterns), with their call counts. The view's schema is filled in by
-- pgrunbook (it is wherever the extension was created). The
-- statistics views themselves are left out: those are pgrunbook's own probes. Same on PG 14-18.
SELECT queryid::text AS queryid, calls::bigint AS calls, left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
FROM {pgss}
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND toplevel
  AND ((query ~* $1 AND ($2::text IS NULL OR query ~* $2)) OR query ~* ANY ($3::text[]))
  AND query !~* 'pg_stat_statements|pg_stat_user_tables|pg_locks'
