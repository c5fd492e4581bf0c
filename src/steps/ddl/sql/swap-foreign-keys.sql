-- swap_table: foreign keys from and to the table ($1 = table oid). The caller empties search_path
-- first, so every name in the definitions is schema-qualified.
select co.conname as name, co.conrelid = co.confrelid as self_ref, n.nspname as nsp, c.relname as rel,
       rn.nspname as ref_nsp, rc.relname as ref_rel, pg_get_constraintdef(co.oid) as def, co.conrelid = $1 as outgoing
  from pg_constraint co
  join pg_class c on c.oid = co.conrelid
  join pg_namespace n on n.oid = c.relnamespace
  join pg_class rc on rc.oid = co.confrelid
  join pg_namespace rn on rn.oid = rc.relnamespace
 where co.contype = 'f' and (co.conrelid = $1 or co.confrelid = $1)
 order by co.conname
