-- Client transactions open longer than $1 seconds (they pin xmin and hold locks), oldest first.
SELECT pid, usename::text AS usr, application_name AS app, state, extract(epoch FROM now() - xact_start)::float8 AS secs, left(query, 200) AS query
  FROM pg_stat_activity
 WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'
   AND now() - xact_start > make_interval(secs => $1)
 ORDER BY xact_start
 LIMIT 20
