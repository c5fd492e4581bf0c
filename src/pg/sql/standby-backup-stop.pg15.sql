-- Ends the base backup (pg_stop_backup was renamed in PostgreSQL 15); the copy needs labelfile as its
-- backup_label. WAL is streamed, not archived, so there is nothing to wait for.
select labelfile, spcmapfile from pg_backup_stop(false)
