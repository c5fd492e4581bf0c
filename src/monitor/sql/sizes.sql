-- Relation sizes, never for a relation with an ACCESS EXCLUSIVE lock granted or pending on it (or on
-- its indexes or TOAST table): pg_total_relation_size() opens them with ACCESS SHARE and would queue.
-- The lock check and the size call run in the same statement; lock_timeout covers the rest.
-- $1 = relation names (resolved with to_regclass, which takes no lock), $2 = relation oids.
with wanted as (
  select 'watch' as kind, n.ord, n.name, to_regclass(n.name) as oid
  from unnest($1::text[]) with ordinality as n(name, ord)
  union all
  select 'index', i.ord, i.o::regclass::text, i.o::regclass
  from unnest($2::oid[]) with ordinality as i(o, ord)
),
ael as materialized (
  select l.relation, bool_or(l.granted) as granted
  from pg_locks l
  where l.locktype = 'relation' and l.mode = 'AccessExclusiveLock'
    and l.database = (select oid from pg_database where datname = current_database())
  group by l.relation
),
guard as (
  select w.kind, w.ord, w.name, w.oid, c.oid is not null as present,
         (select bool_or(a.granted) from ael a
          where a.relation = c.oid or a.relation = c.reltoastrelid
             or a.relation in (select i.indexrelid from pg_index i where i.indrelid in (c.oid, c.reltoastrelid)))
           as ael_granted
  from wanted w
  -- One index lookup per wanted relation (a handful), not a scan of pg_class.
  left join lateral (select pc.oid, pc.reltoastrelid from pg_class pc where pc.oid = w.oid::oid) c on true
)
select g.kind, g.name, g.oid::int8 as oid, g.present,
       case when g.ael_granted is null then null when g.ael_granted then 'granted' else 'pending' end as ael,
       case when g.present and g.ael_granted is null then pg_total_relation_size(g.oid)::float8 end as bytes
from guard g
order by g.kind desc, g.ord;
