-- Is there an index on table $1 (oid) whose leading columns are exactly $2 (names, in order)?
-- $3 is the last index position to compare (the number of names less one).
select exists (
  select 1 from pg_index i
   where i.indrelid = $1
     and (select array_agg(a.attname::text order by k.n) from unnest(i.indkey[0:$3]) with ordinality k(attnum, n)
            join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum) = $2::text[]) as ok
