-- swap_table: views depending on the table, directly or through other views, in creation order,
-- with what recreating them needs ($1 = table oid; their grants: swap-grants.sql). The caller
-- empties search_path first.
with recursive deps(oid, depth) as (
  select distinct r.ev_class, 1
    from pg_depend d join pg_rewrite r on r.oid = d.objid
   where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and d.refobjid = $1 and r.ev_class <> $1
  union
  select r.ev_class, deps.depth + 1
    from deps
    join pg_depend d on d.refobjid = deps.oid and d.refclassid = 'pg_class'::regclass
    join pg_rewrite r on r.oid = d.objid and d.classid = 'pg_rewrite'::regclass
   where r.ev_class <> deps.oid and deps.depth < 50
)
select c.oid::int8 as oid, n.nspname as nsp, c.relname as name, c.relkind::text as relkind, max(deps.depth) as depth,
       pg_get_viewdef(c.oid, true) as def, c.reloptions as options, pg_get_userbyid(c.relowner) as owner,
       obj_description(c.oid, 'pg_class') as comment
  from deps
  join pg_class c on c.oid = deps.oid
  join pg_namespace n on n.oid = c.relnamespace
 group by n.nspname, c.relname, c.relkind, c.oid
 order by max(deps.depth), c.relname
