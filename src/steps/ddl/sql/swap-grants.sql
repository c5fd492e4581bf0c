-- swap_table: the grants a swap carries over to the new table and the recreated views, table and
-- column level, of the relations $1 (oids), with $2 ('%TABLE%' or '%VIEW%') where the name goes.
select c.oid::int8 as oid,
       (select coalesce(array_agg(format('GRANT %s ON %s TO %s%s', a.privilege_type, $2::text,
                 case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end,
                 case when a.is_grantable then ' WITH GRANT OPTION' else '' end)), '{}')
          from aclexplode(c.relacl) a where a.grantee <> c.relowner) as grants,
       -- Column-level grants: one GRANT per grantee, privilege and grant option, listing its columns.
       (select coalesce(array_agg(g order by g), '{}') from (
          select format('GRANT %s (%s) ON %s TO %s%s', x.privilege_type, string_agg(quote_ident(att.attname), ', ' order by att.attnum),
                        $2::text,
                        case when x.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(x.grantee)) end,
                        case when x.is_grantable then ' WITH GRANT OPTION' else '' end) as g
            from pg_attribute att cross join lateral aclexplode(att.attacl) x
           where att.attrelid = c.oid and att.attnum > 0 and not att.attisdropped and att.attacl is not null
             and x.grantee <> c.relowner
           group by x.privilege_type, x.grantee, x.is_grantable) cg) as column_grants
  from pg_class c
 where c.oid = any ($1::oid[])
