-- What the relations $1 own: defaults, constraints, indexes, triggers, rules, policies, statistics,
-- sequences and row types, following auto/internal dependencies one level further down (the index
-- behind a constraint, the array type of a row type). Partitions also depend on their parent with
-- an auto dependency; they are relations of their own and left out here.
with recursive owned(classid, objid, rel) as (
  select d.classid, d.objid, d.refobjid
    from pg_depend d
   where d.refclassid = 'pg_class'::regclass and d.refobjid = any($1::oid[]) and d.deptype in ('a', 'i')
  union
  select d.classid, d.objid, o.rel
    from owned o
    join pg_depend d on d.refclassid = o.classid and d.refobjid = o.objid and d.deptype in ('a', 'i')
   where o.classid <> 'pg_class'::regclass
)
select o.classid, o.objid, o.rel,
       case
         when o.classid = 'pg_attrdef'::regclass then 'default'
         when o.classid = 'pg_constraint'::regclass then
           (select case when con.contype in ('c', 'n') then 'check' else 'constraint' end from pg_constraint con where con.oid = o.objid)
         when o.classid = 'pg_rewrite'::regclass then
           (select case when r.rulename = '_RETURN' then 'view' else 'rule' end from pg_rewrite r where r.oid = o.objid)
         when o.classid = 'pg_type'::regclass then 'type'
         when o.classid = 'pg_class'::regclass then case when c.relkind = 'S' then 'sequence' else 'index' end
         when o.classid = 'pg_trigger'::regclass then 'trigger'
         when o.classid = 'pg_policy'::regclass then 'policy'
         when o.classid = 'pg_statistic_ext'::regclass then 'statistics'
         else 'other'
       end as kind,
       (pg_identify_object(o.classid, o.objid, 0)).identity as identity
  from owned o
  left join pg_class c on o.classid = 'pg_class'::regclass and c.oid = o.objid
 where o.classid <> 'pg_class'::regclass or c.relkind in ('i', 'I', 'S')
