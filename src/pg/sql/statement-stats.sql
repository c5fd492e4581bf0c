-- Top-level statements of this database from pg_stat_statements that name one of the touched tables
-- ($1: case-insensitive regexes), leaving out pgrunbook's own statements (they all name its
-- pgrunbook schema or __pgrunbook_ aliases) and those of role $2 when given. Query texts another
-- role ran read '<insufficient privilege>' without pg_read_all_stats: counted so the caller can say so.
-- Before 17 there is no per-entry stats_since, so a reset entry shows up as calls going down.
SELECT queryid::text AS queryid, calls::float8 AS calls, total_exec_time::float8 AS total_ms,
       left(query, 200) AS query, NULL::text AS since, (query = '<insufficient privilege>') AS hidden
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND toplevel
   AND ($2::oid IS NULL OR userid <> $2::oid)
   AND (query = '<insufficient privilege>' OR (query ~* ANY ($1::text[]) AND query !~* 'pgrunbook'))
