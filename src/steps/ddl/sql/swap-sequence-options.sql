-- swap_table: every option of the given sequences ($1 = text[] of quoted names), for the swap back.
select format('%I.%I', n.nspname, c.relname) as name, format_type(s.seqtypid, null) as type,
       s.seqstart::text as start, s.seqincrement::text as increment, s.seqmin::text as min, s.seqmax::text as max,
       s.seqcache::text as cache, s.seqcycle as cycle
  from pg_sequence s
  join pg_class c on c.oid = s.seqrelid
  join pg_namespace n on n.oid = c.relnamespace
 where s.seqrelid in (select to_regclass(x) from unnest($1::text[]) as x)
