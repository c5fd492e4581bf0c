-- swap_table: every index, with the definition of the constraint it backs, if any ($1 = table oid).
select c.relname as name, pg_get_indexdef(i.indexrelid) as def, i.indisunique as unique,
       (select pg_get_constraintdef(co.oid) from pg_constraint co
         where co.conindid = i.indexrelid and co.conrelid = i.indrelid and co.contype in ('p', 'u', 'x')) as condef
  from pg_index i
  join pg_class c on c.oid = i.indexrelid
 where i.indrelid = $1
 order by c.relname
