-- A non-exclusive base backup: this session must stay open until standby-backup-stop. fast: an
-- immediate checkpoint rather than a spread one.
select pg_start_backup($1, true, false)
