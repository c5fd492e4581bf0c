-- swap_table: views depending on the table, directly or through other views, in creation order,
-- with what recreating them needs ($1 = table oid). The caller empties search_path first.
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
select n.nspname as nsp, c.relname as name, c.relkind::text as relkind, max(deps.depth) as depth,
       pg_get_viewdef(c.oid, true) as def, c.reloptions as options, pg_get_userbyid(c.relowner) as owner,
       obj_description(c.oid, 'pg_class') as comment,
       (select coalesce(array_agg(format('GRANT %s ON %%VIEW%% TO %s%s', a.privilege_type,
                 case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end,
                 case when a.is_grantable then ' WITH GRANT OPTION' else '' end)), '{}')
          from aclexplode(c.relacl) a where a.grantee <> c.relowner) as grants,
       -- Column-level grants: one GRANT per grantee, privilege and grant option, listing its columns.
       (select coalesce(array_agg(g order by g), '{}') from (
          select format('GRANT %s (%s) ON %%VIEW%% TO %s%s', x.privilege_type, string_agg(quote_ident(att.attname), ', ' order by att.attnum),
                        case when x.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(x.grantee)) end,
                        case when x.is_grantable then ' WITH GRANT OPTION' else '' end) as g
            from pg_attribute att cross join lateral aclexplode(att.attacl) x
           where att.attrelid = c.oid and att.attnum > 0 and not att.attisdropped and att.attacl is not null
             and x.grantee <> c.relowner
           group by x.privilege_type, x.grantee, x.is_grantable) cg) as column_grants
  from deps
  join pg_class c on c.oid = deps.oid
  join pg_namespace n on n.oid = c.relnamespace
 group by n.nspname, c.relname, c.relkind, c.oid
 order by max(deps.depth), c.relname
