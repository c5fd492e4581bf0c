-- Columns of tables, views and composite types, in their order. attstattarget is -1 by default
-- before PostgreSQL 17 and null from 17 on.
select a.attrelid as rel, a.attnum as num, a.attname::text as name, format_type(a.atttypid, a.atttypmod) as type,
       a.attnotnull as not_null, a.attidentity::text as identity, a.attgenerated::text as generated,
       a.attislocal as local, a.attinhcount as inherited,
       case when a.attcollation <> 0 and a.attcollation <> t.typcollation then format('%I.%I', cn.nspname, co.collname) end as collation,
       pg_get_expr(d.adbin, d.adrelid) as default_expr,
       case when a.attstorage <> t.typstorage then a.attstorage::text end as storage,
       nullif(a.attstattarget::int, -1) as stats_target,
       a.attoptions as options
  from pg_attribute a
  join pg_type t on t.oid = a.atttypid
  left join pg_collation co on co.oid = a.attcollation
  left join pg_namespace cn on cn.oid = co.collnamespace
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
 order by a.attrelid, a.attnum
