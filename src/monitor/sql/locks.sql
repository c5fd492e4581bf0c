-- Lock detail for sessions that wait on a lock (before PostgreSQL 14: no pg_locks.waitstart, so the
-- wait time falls back to the statement's age). $1 = pids of the waiting sessions.
select l.pid, l.locktype, l.mode, l.granted,
       l.database, l.relation::int8 as relation_oid, l.transactionid::text as xid,
       l.classid::int8 as classid, l.objid::int8 as objid, l.objsubid, l.page, l.tuple, l.virtualxid,
       case when l.relation is null then null
            when l.database = (select oid from pg_database where datname = current_database()) then l.relation::regclass::text
            else 'oid ' || l.relation end as relation,
       null::float8 as wait_start
from pg_locks l
where l.pid = any($1::int[])
  and (not l.granted or l.locktype = 'tuple');
