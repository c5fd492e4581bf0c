-- The relations to recreate. Runs with an empty search_path, so view text comes out schema-qualified.
select c.oid, n.nspname as schema, c.relname as name, c.relkind::text as relkind,
       c.relpersistence::text as persistence, c.relispartition as is_partition,
       c.relreplident::text as replident, c.reloptions as options, tc.reloptions as toast_options,
       am.amname::text as access_method,
       case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as partition_key,
       case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end as partition_bound,
       case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end as view_def,
       c.relispopulated as populated, c.relrowsecurity as row_security,
       coalesce((select array_agg(i.inhparent order by i.inhseqno) from pg_inherits i where i.inhrelid = c.oid), '{}') as parents,
       case when c.reltuples < 0 then null else c.reltuples::float8 end as rows,
       c.relpages::float8 * current_setting('block_size')::int as heap_bytes,
       coalesce((select sum(ic.relpages)::float8 from pg_index x join pg_class ic on ic.oid = x.indexrelid where x.indrelid = c.oid), 0)
         * current_setting('block_size')::int as index_bytes,
       exists (select 1 from pg_policy p where p.polrelid = c.oid) as has_policies
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  left join pg_class tc on tc.oid = c.reltoastrelid
  left join pg_am am on am.oid = c.relam
 where c.oid = any($1::oid[])
