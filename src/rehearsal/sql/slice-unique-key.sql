-- The key a table can be sliced by: its primary key, else the narrowest valid unique btree index
-- without expressions or predicate whose key columns are all NOT NULL. $1 = the table's oid.
select x.indexrelid::regclass::text as index,
       array_agg(a.attname::text order by k.i) as columns,
       array_agg(format_type(a.atttypid, a.atttypmod) order by k.i) as types
  from (select i.indexrelid, i.indkey, i.indnkeyatts
          from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam
         where i.indrelid = $1 and i.indisunique and i.indisvalid and i.indpred is null and i.indexprs is null and am.amname = 'btree'
           and not exists (select 1 from pg_attribute na where na.attrelid = $1 and na.attnum = any(i.indkey::int2[]) and not na.attnotnull)
         order by i.indisprimary desc, i.indnkeyatts, i.indexrelid
         limit 1) x
  cross join lateral unnest(x.indkey::int2[]) with ordinality k(n, i)
  join pg_attribute a on a.attrelid = $1 and a.attnum = k.n
 where k.i <= x.indnkeyatts
 group by x.indexrelid
