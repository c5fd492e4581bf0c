-- swap_table: what CREATE TABLE .. (LIKE .. INCLUDING ALL) does not copy: owner, comment, storage
-- options, replica identity, per-column statistics targets and options, and the server version
-- (publications differ by it) ($1 = table oid).
select pg_get_userbyid(c.relowner) as owner, obj_description(c.oid, 'pg_class') as comment,
       coalesce(c.reloptions, '{}') as reloptions, c.relreplident::text as replident,
       (select i.relname from pg_index x join pg_class i on i.oid = x.indexrelid
         where x.indrelid = c.oid and x.indisreplident) as replident_index,
       (select coalesce(json_agg(json_build_object('name', a.attname,
                                                   'statTarget', nullif(coalesce(a.attstattarget::int, -1), -1),
                                                   'options', coalesce(a.attoptions, '{}')) order by a.attnum), '[]')
          from pg_attribute a
         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
           and (coalesce(a.attstattarget::int, -1) <> -1 or a.attoptions is not null)) as columns,
       current_setting('server_version_num')::int as version
  from pg_class c
 where c.oid = $1
