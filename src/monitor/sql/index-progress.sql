-- CREATE INDEX / REINDEX progress (PostgreSQL 12+). Names resolve only in the current database.
-- $1 = true for builds in every database, false for the current one only.
select p.pid, p.datname as database, p.command, p.phase,
       case when p.datname <> current_database() then 'oid ' || p.relid
            else p.relid::regclass::text end as relation,
       case when p.index_relid = 0 then null
            when p.datname <> current_database() then 'oid ' || p.index_relid
            else p.index_relid::regclass::text end as index,
       nullif(p.index_relid, 0)::int8 as index_oid,
       p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total,
       p.lockers_done, p.lockers_total, nullif(p.current_locker_pid, 0)::int as current_locker_pid,
       p.partitions_done, p.partitions_total
from pg_stat_progress_create_index p
where $1::bool or p.datname = current_database()
order by p.pid;
