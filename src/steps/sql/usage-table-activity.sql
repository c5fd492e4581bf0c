-- Fallback without pg_stat_statements: scans and row changes of the table ($1, a regclass text) so
-- far, and how many other sessions hold a lock on it right now.
SELECT
  coalesce((SELECT seq_scan + coalesce(idx_scan, 0) + n_tup_ins + n_tup_upd + n_tup_del
    FROM pg_stat_user_tables WHERE relid = to_regclass($1)), 0)::bigint AS activity,
  (SELECT count(*) FROM pg_locks
    WHERE locktype = 'relation' AND relation = to_regclass($1) AND pid <> pg_backend_pid())::bigint AS lockers
