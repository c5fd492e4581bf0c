-- swap_table: owner, grants (table and column level, %TABLE% where the name goes), and what would
-- stop a swap: row-level security, inheritance, user triggers ($1 = table oid).
select pg_get_userbyid(c.relowner) as owner, c.relrowsecurity as rls, c.relhassubclass as children,
       exists (select 1 from pg_inherits where inhrelid = c.oid) as inherits,
       (select coalesce(array_agg(tgname::text), '{}') from pg_trigger
         where tgrelid = c.oid and not tgisinternal and tgname not like 'pgrunbook_swap%') as triggers,
       (select coalesce(array_agg(format('GRANT %s ON %%TABLE%% TO %s%s', a.privilege_type,
                 case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end,
                 case when a.is_grantable then ' WITH GRANT OPTION' else '' end)), '{}')
          from aclexplode(c.relacl) a where a.grantee <> c.relowner) as grants,
       -- Column-level grants: one GRANT per grantee, privilege and grant option, listing its columns.
       (select coalesce(array_agg(g order by g), '{}') from (
          select format('GRANT %s (%s) ON %%TABLE%% TO %s%s', x.privilege_type, string_agg(quote_ident(att.attname), ', ' order by att.attnum),
                        case when x.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(x.grantee)) end,
                        case when x.is_grantable then ' WITH GRANT OPTION' else '' end) as g
            from pg_attribute att cross join lateral aclexplode(att.attacl) x
           where att.attrelid = c.oid and att.attnum > 0 and not att.attisdropped and att.attacl is not null
             and x.grantee <> c.relowner
           group by x.privilege_type, x.grantee, x.is_grantable) cg) as column_grants
  from pg_class c
 where c.oid = $1
