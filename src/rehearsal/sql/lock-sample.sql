-- One lock sample: the server's clock, the WAL position, the relation locks held or awaited by
-- sessions whose application_name starts with $1 (with who blocks them), the relfilenodes of the
-- tables $2 and the index builds in progress.
select extract(epoch from clock_timestamp()) * 1000 as server_ms,
       pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text as lsn,
       (select coalesce(json_agg(json_build_object('pid', l.pid, 'relation', format('%I.%I', n.nspname, c.relname), 'mode', l.mode,
                                                   'granted', l.granted, 'blockers', case when l.granted then '{}'::int[] else pg_blocking_pids(l.pid) end)), '[]')
          from pg_locks l join pg_stat_activity a on a.pid = l.pid
          join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace
         where l.locktype = 'relation' and a.application_name like $1 || '%' and c.relkind in ('r', 'p', 'm')
           and n.nspname not in ('pg_catalog', 'pg_toast', 'information_schema', 'pgrunbook', 'pgrunbook_rehearsal')) as locks,
       (select coalesce(json_object_agg(x, c.relfilenode), '{}') from unnest($2::text[]) x join pg_class c on c.oid = to_regclass(x)) as files,
       (select coalesce(json_agg(json_build_object('pid', p.pid, 'phase', p.phase, 'locker', p.current_locker_pid)), '[]')
          from pg_stat_progress_create_index p join pg_stat_activity a on a.pid = p.pid where a.application_name like $1 || '%') as index
