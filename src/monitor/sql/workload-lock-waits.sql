-- Sessions waiting on a lock while they work on one of the tables $1 (regclass names): waiting for
-- the table itself, or for a row of it (a transactionid or tuple lock, their lock on the table being
-- granted). What the application is held up on right now, with the statement and how long.
SELECT a.pid, w.locktype, w.mode, t.rel,
       extract(epoch FROM now() - coalesce(w.waitstart, a.state_change))::float8 * 1000 AS wait_ms,
       left(a.query, 200) AS query
  FROM pg_locks w
  JOIN pg_stat_activity a ON a.pid = w.pid
  JOIN LATERAL (SELECT l.relation::regclass::text AS rel
                  FROM pg_locks l
                 WHERE l.pid = w.pid AND l.locktype = 'relation'
                   AND l.relation = ANY (SELECT to_regclass(x)::oid FROM unnest($1::text[]) x)
                 LIMIT 1) t ON true
 WHERE NOT w.granted AND a.pid <> pg_backend_pid()
 ORDER BY wait_ms DESC
 LIMIT 20
