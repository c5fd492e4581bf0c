-- Enum, domain and composite types. A domain's constraints come as JSON (NOT NULL is a constraint
-- of its own from PostgreSQL 17 on; before that only typnotnull says so).
select t.oid, format('%I.%I', n.nspname, t.typname) as name, n.nspname as schema, t.typtype::text as kind,
       case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end as base,
       case when t.typtype = 'd' and t.typcollation <> 0 and t.typcollation <> bt.typcollation
            then format('%I.%I', cn.nspname, co.collname) end as collation,
       case when t.typtype = 'd' then coalesce(pg_get_expr(t.typdefaultbin, 0), t.typdefault) end as default_expr,
       t.typnotnull as not_null,
       case when t.typtype = 'e' then (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) end as labels,
       nullif(t.typrelid, 0) as composite_rel,
       (select json_agg(json_build_object('name', con.conname, 'type', con.contype, 'def', pg_get_constraintdef(con.oid), 'validated', con.convalidated) order by con.conname)
          from pg_constraint con where con.contypid = t.oid) as constraints
  from pg_type t
  join pg_namespace n on n.oid = t.typnamespace
  left join pg_type bt on bt.oid = t.typbasetype
  left join pg_collation co on co.oid = t.typcollation
  left join pg_namespace cn on cn.oid = co.collnamespace
 where t.oid = any($1::oid[])
