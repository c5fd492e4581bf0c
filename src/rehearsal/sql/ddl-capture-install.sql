-- Records, inside each DDL's own transaction, the relation locks the session holds at the end of
-- each command and every table rewrite (ddl-capture.ts). The schema is CAPTURE_SCHEMA there.
create schema if not exists pgrunbook_rehearsal;
create table if not exists pgrunbook_rehearsal.ddl_locks (
  id bigserial primary key, at_ms float8 not null, app text, tag text, relation text, mode text);
create table if not exists pgrunbook_rehearsal.rewrites (
  id bigserial primary key, at_ms float8 not null, app text, relation text, reason int);
create or replace function pgrunbook_rehearsal.capture_locks() returns event_trigger language plpgsql as $f$
begin
  insert into pgrunbook_rehearsal.ddl_locks (at_ms, app, tag, relation, mode)
  select extract(epoch from clock_timestamp()) * 1000, current_setting('application_name'), tg_tag,
         format('%I.%I', n.nspname, c.relname), l.mode
    from pg_locks l join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace
   where l.pid = pg_backend_pid() and l.locktype = 'relation' and l.granted and c.relkind in ('r', 'p', 'm')
     and n.nspname not in ('pg_catalog', 'pg_toast', 'information_schema', 'pgrunbook', 'pgrunbook_rehearsal');
exception when others then
  null; -- the capture must never make the DDL under test fail
end $f$;
create or replace function pgrunbook_rehearsal.capture_rewrite() returns event_trigger language plpgsql as $f$
begin
  insert into pgrunbook_rehearsal.rewrites (at_ms, app, relation, reason)
  select extract(epoch from clock_timestamp()) * 1000, current_setting('application_name'),
         format('%I.%I', n.nspname, c.relname), pg_event_trigger_table_rewrite_reason()
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = pg_event_trigger_table_rewrite_oid();
exception when others then
  null;
end $f$;
drop event trigger if exists pgrunbook_rehearsal_locks;
drop event trigger if exists pgrunbook_rehearsal_rewrites;
create event trigger pgrunbook_rehearsal_locks on ddl_command_end execute function pgrunbook_rehearsal.capture_locks();
create event trigger pgrunbook_rehearsal_rewrites on table_rewrite execute function pgrunbook_rehearsal.capture_rewrite();
