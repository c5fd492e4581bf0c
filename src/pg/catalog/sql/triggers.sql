-- Triggers of a table ($1 OID); internal ones implement foreign keys.
SELECT tgname::text AS name, tgisinternal AS internal, tgenabled::text AS enabled, pg_get_triggerdef(oid) AS definition
  FROM pg_trigger
 WHERE tgrelid = $1::oid
 ORDER BY 1
