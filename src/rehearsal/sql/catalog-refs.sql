-- What the objects ($1 class, $2 object) depend on, each with enough to classify it: identity,
-- schema, the extension it belongs to, and for types and relations their kind. A composite type's
-- columns and a domain's constraints hang off the type in the other direction; they are added here.
with f(classid, objid) as (select * from unnest($1::oid[], $2::oid[])),
refs as (
  select f.classid as from_class, f.objid as from_obj, d.refclassid as classid, d.refobjid as objid
    from f join pg_depend d on d.classid = f.classid and d.objid = f.objid
   where d.deptype in ('n', 'a', 'i') and d.refclassid <> 0
  union
  select f.classid, f.objid, 'pg_class'::regclass::oid, t.typrelid
    from f join pg_type t on f.classid = 'pg_type'::regclass and t.oid = f.objid
    join pg_class c on c.oid = t.typrelid and c.relkind = 'c'
  union
  select f.classid, f.objid, 'pg_constraint'::regclass::oid, con.oid
    from f join pg_constraint con on f.classid = 'pg_type'::regclass and con.contypid = f.objid
)
select r.from_class, r.from_obj,
       case when r.from_class = 'pg_rewrite'::regclass then
         (select case c.relkind when 'm' then 'materialized view ' else 'view ' end || format('%I.%I', n.nspname, c.relname)
            from pg_rewrite rw join pg_class c on c.oid = rw.ev_class join pg_namespace n on n.oid = c.relnamespace where rw.oid = r.from_obj)
       else fo.type || ' ' || fo.identity end as from_identity,
       r.classid, r.objid, o.type, o.schema, o.identity,
       (select e.extname::text from pg_depend x join pg_extension e on e.oid = x.refobjid
         where x.classid = r.classid and x.objid = r.objid and x.refclassid = 'pg_extension'::regclass and x.deptype = 'e' limit 1) as extension,
       (select c.relkind::text from pg_class c where r.classid = 'pg_class'::regclass and c.oid = r.objid) as relkind,
       t.typtype::text as typtype,
       nullif(t.typrelid, 0) as typrelid,
       (select c.relkind::text from pg_class c where c.oid = t.typrelid) as typrelkind,
       (select e.oid from pg_type e where t.oid is not null and e.typarray = t.oid) as array_of,
       (select p.prokind::text from pg_proc p where r.classid = 'pg_proc'::regclass and p.oid = r.objid) as prokind
  from refs r
  cross join lateral pg_identify_object(r.classid, r.objid, 0) o
  cross join lateral pg_identify_object(r.from_class, r.from_obj, 0) fo
  left join pg_type t on r.classid = 'pg_type'::regclass and t.oid = r.objid
