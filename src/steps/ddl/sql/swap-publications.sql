-- swap_table: explicit publication membership of the table ($1 = table oid). FOR ALL TABLES and
-- TABLES IN SCHEMA cover the rebuilt table by themselves.
select p.pubname as publication, '' as clause
  from pg_publication_rel pr
  join pg_publication p on p.oid = pr.prpubid
 where pr.prrelid = $1
 order by p.pubname
