-- Lock detail for sessions that wait on a lock (PostgreSQL 14+: pg_locks.waitstart).
-- Not used to build the tree (pg_blocking_pids does that): only for what each waiter waits for,
-- since when (an absolute time: the ages are taken against the activity probe's now()), and on
-- which relation. $1 = pids of the waiting sessions.
select l.pid, l.locktype, l.mode, l.granted,
       l.database, l.relation::int8 as relation_oid, l.transactionid::text as xid,
       l.classid::int8 as classid, l.objid::int8 as objid, l.objsubid, l.page, l.tuple, l.virtualxid,
       case when l.relation is null then null
            when l.database = (select oid from pg_database where datname = current_database()) then l.relation::regclass::text
            else 'oid ' || l.relation end as relation,
       extract(epoch from l.waitstart)::float8 as wait_start
from pg_locks l
where l.pid = any($1::int[])
  and (not l.granted or l.locktype = 'tuple');
