-- Extended statistics objects (CREATE STATISTICS) on the relations.
select s.stxrelid as rel, format('%I.%I', n.nspname, s.stxname) as name, pg_get_statisticsobjdef(s.oid) as def,
       nullif(s.stxstattarget::int, -1) as stats_target
  from pg_statistic_ext s
  join pg_namespace n on n.oid = s.stxnamespace
 where s.stxrelid = any($1::oid[])
 order by 2
