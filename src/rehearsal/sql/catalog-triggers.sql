-- User triggers (internal ones belong to FKs). Clones on partitions come back with their parent's.
select t.tgrelid as rel, t.tgname::text as name, pg_get_triggerdef(t.oid) as def, t.tgenabled::text as enabled,
       t.tgparentid <> 0 as cloned
  from pg_trigger t
 where t.tgrelid = any($1::oid[]) and not t.tgisinternal
 order by t.tgrelid, t.tgname
