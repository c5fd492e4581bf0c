-- Can this session read pg_stat_statements of every user? Schema of the extension (NULL when not
-- installed in this database), whether the library is preloaded, whether other users' texts show.
SELECT
  (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements') AS schema,
  current_setting('shared_preload_libraries') ~ 'pg_stat_statements' AS loaded,
  coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
    OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS sees_all
