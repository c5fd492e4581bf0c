-- swap_table: explicit publication membership of the table ($1 = table oid), with the column list
-- and row filter PostgreSQL 15 added. FOR ALL TABLES and TABLES IN SCHEMA cover the rebuilt table
-- by themselves.
select p.pubname as publication,
       case when pr.prattrs is null then ''
            else ' (' || (select string_agg(quote_ident(a.attname), ', ' order by a.attnum) from pg_attribute a
                           where a.attrelid = pr.prrelid and a.attnum = any(pr.prattrs::int2[])) || ')' end
       || coalesce(' WHERE (' || pg_get_expr(pr.prqual, pr.prrelid) || ')', '') as clause
  from pg_publication_rel pr
  join pg_publication p on p.oid = pr.prpubid
 where pr.prrelid = $1
 order by p.pubname
