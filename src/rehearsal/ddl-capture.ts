// In-transaction lock capture for the sandbox. A metadata-only ALTER holds ACCESS EXCLUSIVE for
// well under a millisecond, far too short for any pg_locks sampler, so event triggers record,
// inside the DDL's own transaction, the relation locks the session holds at the end of each
// command (ddl_command_end) and every table rewrite (table_rewrite). Needs superuser: where the
// sandbox role is not one (a staging URL), the trace falls back to sampling alone.
import type { Queryable } from '../pg/queryable.js';

export const CAPTURE_SCHEMA = 'pgrunbook_rehearsal';

const INSTALL = `
create schema if not exists ${CAPTURE_SCHEMA};
create table if not exists ${CAPTURE_SCHEMA}.ddl_locks (
  id bigserial primary key, at_ms float8 not null, app text, tag text, relation text, mode text);
create table if not exists ${CAPTURE_SCHEMA}.rewrites (
  id bigserial primary key, at_ms float8 not null, app text, relation text, reason int);
create or replace function ${CAPTURE_SCHEMA}.capture_locks() returns event_trigger language plpgsql as $f$
begin
  insert into ${CAPTURE_SCHEMA}.ddl_locks (at_ms, app, tag, relation, mode)
  select extract(epoch from clock_timestamp()) * 1000, current_setting('application_name'), tg_tag,
         format('%I.%I', n.nspname, c.relname), l.mode
    from pg_locks l join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace
   where l.pid = pg_backend_pid() and l.locktype = 'relation' and l.granted and c.relkind in ('r', 'p', 'm')
     and n.nspname not in ('pg_catalog', 'pg_toast', 'information_schema', 'pgrunbook', '${CAPTURE_SCHEMA}');
exception when others then
  null; -- the capture must never make the DDL under test fail
end $f$;
create or replace function ${CAPTURE_SCHEMA}.capture_rewrite() returns event_trigger language plpgsql as $f$
begin
  insert into ${CAPTURE_SCHEMA}.rewrites (at_ms, app, relation, reason)
  select extract(epoch from clock_timestamp()) * 1000, current_setting('application_name'),
         format('%I.%I', n.nspname, c.relname), pg_event_trigger_table_rewrite_reason()
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = pg_event_trigger_table_rewrite_oid();
exception when others then
  null;
end $f$;
drop event trigger if exists pgrunbook_rehearsal_locks;
drop event trigger if exists pgrunbook_rehearsal_rewrites;
create event trigger pgrunbook_rehearsal_locks on ddl_command_end execute function ${CAPTURE_SCHEMA}.capture_locks();
create event trigger pgrunbook_rehearsal_rewrites on table_rewrite execute function ${CAPTURE_SCHEMA}.capture_rewrite();
`;

/** Installs the capture; false (and nothing installed) when the role may not create event triggers. */
export async function installDdlCapture(db: Queryable): Promise<boolean> {
  const su = await db.query<{ su: boolean }>(`select rolsuper as su from pg_roles where rolname = current_user`);
  if (!su.rows[0]?.su) return false;
  await db.query(INSTALL);
  return true;
}

export interface CapturedLock {
  atMs: number;
  tag: string;
  relation: string;
  mode: string;
}

export async function readCapturedLocks(db: Queryable, appPrefix: string): Promise<CapturedLock[]> {
  const r = await db.query<{ at_ms: number; tag: string; relation: string; mode: string }>(
    `select at_ms, tag, relation, mode from ${CAPTURE_SCHEMA}.ddl_locks where app like $1 || '%' order by id`,
    [appPrefix],
  );
  return r.rows.map((x) => ({ atMs: Number(x.at_ms), tag: x.tag, relation: x.relation, mode: x.mode }));
}

export async function readCapturedRewrites(db: Queryable, appPrefix: string): Promise<{ atMs: number; relation: string }[]> {
  const r = await db.query<{ at_ms: number; relation: string }>(
    `select at_ms, relation from ${CAPTURE_SCHEMA}.rewrites where app like $1 || '%' order by id`,
    [appPrefix],
  );
  return r.rows.map((x) => ({ atMs: Number(x.at_ms), relation: x.relation }));
}
