-- Autovacuum workers holding a lock on any of the relations $1 (names as written, resolved with
-- to_regclass) in this database (relation oids repeat across databases made from one template):
-- their pid, the relation and whether the run is an anti-wraparound one (never cancelled).
select a.pid, l.relation::regclass::text as relation, a.query like '%to prevent wraparound%' as wraparound
  from pg_locks l join pg_stat_activity a using (pid)
 where a.backend_type = 'autovacuum worker' and l.granted and l.locktype = 'relation'
   and l.database = (select oid from pg_database where datname = current_database())
   and l.relation = any (select to_regclass(x)::oid from unnest($1::text[]) x where to_regclass(x) is not null)
