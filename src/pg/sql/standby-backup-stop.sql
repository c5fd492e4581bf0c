-- Ends the base backup; the copy needs labelfile as its backup_label. WAL is streamed, not archived.
select labelfile, spcmapfile from pg_stop_backup(false, false)
