-- The indexes of the tables $1 (quoted schema.name): unique or not, the table's rows, whether they
-- have expressions, and the largest n_distinct among their columns (from pg_stats).
select case when n.nspname = 'public' then c.relname else n.nspname || '.' || c.relname end as tbl,
       ic.relname as idx, ix.indisunique as uniq, c.reltuples::text as reltuples,
       ix.indexprs is not null as exprs,
       (select max(case when s.n_distinct < 0 then -s.n_distinct * greatest(c.reltuples, 0) else s.n_distinct end)
          from pg_attribute a join pg_stats s on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = a.attname
         where a.attrelid = c.oid and a.attnum = any(ix.indkey::int2[]) and a.attnum > 0)::text as distinct
  from pg_index ix
  join pg_class c on c.oid = ix.indrelid join pg_namespace n on n.oid = c.relnamespace
  join pg_class ic on ic.oid = ix.indexrelid
 where ix.indrelid = any(select to_regclass(t) from unnest($1::text[]) t)
 order by 1, 2
