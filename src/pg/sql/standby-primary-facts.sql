-- What making a streaming standby of this server needs to know: where its files are (the standby
-- starts from a copy of them), whether it can stream WAL (wal_level, a free WAL sender and slot),
-- whether pg_hba.conf lets a TCP replication connection in, and the settings a hot standby must
-- match or exceed (it refuses to start below the primary's).
select current_setting('server_version_num')::int as version_num,
       current_setting('data_directory') as data_directory,
       current_setting('wal_level') as wal_level,
       current_setting('max_wal_senders')::int - (select count(*) from pg_stat_replication)::int as free_wal_senders,
       current_setting('max_replication_slots')::int - (select count(*) from pg_replication_slots)::int as free_slots,
       exists (select 1 from pg_hba_file_rules
                where error is null and type <> 'local' and 'replication' = any(database)) as hba_allows_replication,
       current_setting('max_connections') as max_connections,
       current_setting('max_worker_processes') as max_worker_processes,
       current_setting('max_wal_senders') as max_wal_senders,
       current_setting('max_prepared_transactions') as max_prepared_transactions,
       current_setting('max_locks_per_transaction') as max_locks_per_transaction
