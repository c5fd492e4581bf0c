// Cleanup of a staging database (URL sandbox): the rehearsal removes what it created there and
// nothing else. The database itself is never dropped (the rehearsal did not create it). What was
// there before is listed when the sandbox opens; on close, every object not on that list goes:
// the cloned tables, views, sequences, types and functions, schemas the clone or the runner
// created (pgrunbook's state schema, the lock capture's), extensions, event triggers, and indexes
// the deploy left behind. Drops are RESTRICT, never CASCADE: an object something older depends on
// stays, and is reported. Changes to objects that were there before (a column the rollback did
// not remove, rows a backfill wrote, runs recorded in an existing pgrunbook schema) are the
// rehearsal's findings, reported by its schema diff, and are not undone here.
import type pg from 'pg';
import type { Queryable } from '../../pg/queryable.js';
import { sqlText } from '../../pg/sql-files.js';

type Kind =
  | 'event trigger'
  | 'view'
  | 'materialized view'
  | 'table'
  | 'foreign table'
  | 'index'
  | 'sequence'
  | 'routine'
  | 'domain'
  | 'type'
  | 'extension'
  | 'schema';

interface DbObject {
  kind: Kind;
  /** Identity as listed (schema-qualified, functions with their argument types). */
  name: string;
  /** What DROP takes, quoted. */
  drop: string;
  oid: string;
}

/** Drop order: dependents first. Within one kind, one DROP of the whole list (dependencies among them allowed). */
const ORDER: Kind[] = [
  'event trigger',
  'view',
  'materialized view',
  'foreign table',
  'table',
  'index',
  'sequence',
  'routine',
  'domain',
  'type',
  'extension',
  'schema',
];

export interface Inventory {
  keys: Set<string>;
  /** An object that was there before keeps its OID when the deploy renames it (swap_table): never new. */
  oids: Set<string>;
}

const keyOf = (o: Pick<DbObject, 'kind' | 'name'>) => `${o.kind}\u0000${o.name}`;
const oidOf = (o: Pick<DbObject, 'kind' | 'oid'>) => `${o.kind}\u0000${o.oid}`;

async function listObjects(db: Queryable): Promise<DbObject[]> {
  return (await db.query<DbObject>(sqlText('rehearsal/sql', 'sandbox-objects'))).rows;
}

/** What the staging database holds before the rehearsal touches it. */
export async function takeInventory(db: Queryable): Promise<Inventory> {
  const objects = await listObjects(db);
  return { keys: new Set(objects.map(keyOf)), oids: new Set(objects.map(oidOf)) };
}

/**
 * Drops every object that is not in `before`, dependents first, RESTRICT. Returns what could not
 * be dropped, with the reason, for the operator.
 */
export async function dropNewObjects(db: pg.Client, before: Inventory): Promise<string[]> {
  const leftBehind: string[] = [];
  // A busy staging database must not hang the cleanup behind someone else's lock.
  await db.query(`set lock_timeout = '5s'`);
  for (const kind of ORDER) {
    // Listed again before each kind: dropping tables took their owned sequences and triggers.
    const fresh = (await listObjects(db)).filter((o) => o.kind === kind && !before.keys.has(keyOf(o)) && !before.oids.has(oidOf(o)));
    if (fresh.length === 0) continue;
    const dropSql = (objs: DbObject[]) =>
      `DROP ${kind === 'routine' ? 'ROUTINE' : kind.toUpperCase()} IF EXISTS ${objs.map((o) => o.drop).join(', ')} RESTRICT`;
    if (kind === 'event trigger' || kind === 'extension' || kind === 'schema') {
      // Not droppable as one list in every version; one at a time.
      for (const o of fresh) await db.query(dropSql([o])).catch((e) => leftBehind.push(`${kind} ${o.name}: ${(e as Error).message}`));
      continue;
    }
    const all = await db.query(dropSql(fresh)).then(
      () => true,
      () => false,
    );
    if (all) continue;
    // Something older depends on one of them: drop the others, report that one.
    for (const o of fresh) await db.query(dropSql([o])).catch((e) => leftBehind.push(`${kind} ${o.name}: ${(e as Error).message}`));
  }
  return leftBehind;
}
