-- Non-unique valid btree indexes of table $1 (oid) led by a plain column: the table's rows, the
-- column's distinct values, its most common value's share and its null share, from pg_stats.
select i.indexrelid::regclass::text as index, a.attname::text as col, format_type(a.atttypid, a.atttypmod) as type,
       greatest(c.reltuples, 0)::text as rows,
       (case when s.n_distinct < 0 then -s.n_distinct * greatest(c.reltuples, 0) else s.n_distinct end)::text as distinct,
       (s.most_common_freqs)[1]::text as mcf, s.null_frac::text as null_frac
  from pg_index i
  join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam
  join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = (i.indkey::int2[])[0]
  left join pg_stats s on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = a.attname and not s.inherited
 where i.indrelid = $1 and not i.indisunique and i.indisvalid and i.indpred is null and am.amname = 'btree'
   and (i.indkey::int2[])[0] > 0
 order by i.indexrelid
