-- WAL written, from the write position (pg_stat_wal's own counters reach the view up to a second
-- late, too late for a rate per probe), and pg_stat_wal's full-page images; checkpoints requested and
-- timed and the buffers they wrote (pg_stat_checkpointer, 17+); the phase of a vacuum running on
-- the table $1 (null when none runs, the table is unknown, or the worker is hidden from this role).
-- Client backends' own relation I/O (pg_stat_io, 16+): buffers they wrote and fsynced themselves
-- because the background writer and checkpointer had not, and buffers they evicted to make room.
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS wal_bytes,
       (SELECT wal_fpi::float8 FROM pg_stat_wal) AS wal_fpi,
       c.num_timed::float8 AS checkpoints_timed,
       c.num_requested::float8 AS checkpoints_requested,
       c.buffers_written::float8 AS buffers_written,
       (SELECT v.phase FROM pg_stat_progress_vacuum v
         WHERE v.relid = to_regclass($1) AND v.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
         LIMIT 1) AS autovacuum_phase,
       io.writes AS backend_writes,
       io.fsyncs AS backend_fsyncs,
       io.evictions AS backend_evictions,
       current_setting('max_wal_size') AS max_wal_size
  FROM pg_stat_checkpointer c
 CROSS JOIN (SELECT coalesce(sum(writes), 0)::float8 AS writes, coalesce(sum(fsyncs), 0)::float8 AS fsyncs,
                    coalesce(sum(evictions), 0)::float8 AS evictions
               FROM pg_stat_io WHERE backend_type = 'client backend' AND object = 'relation') io
