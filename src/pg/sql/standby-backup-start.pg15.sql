-- A base backup (pg_start_backup was renamed in PostgreSQL 15): this session must stay open until
-- standby-backup-stop. fast: an immediate checkpoint rather than a spread one.
select pg_backup_start($1, true)
