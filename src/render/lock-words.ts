// How pgrunbook words table locks for the operator, in one place: the TUI gate, the plain gate, the
// step detail and the Locks panel all say "ACCESS EXCLUSIVE" (the SQL name) and the same effect.
import type { PlannedStepDetail } from '../engine/events.js';
import type { GateRequest } from '../engine/gates.js';
import { LOCK_STRENGTH, lockSqlName } from '../pg/lock-modes.js';

/** What each table lock mode stops while held (after the PostgreSQL docs' table of lock modes). */
const LOCK_EFFECT: Record<string, string> = {
  AccessExclusiveLock: 'blocks every read and write, even a plain SELECT, while held',
  ExclusiveLock: 'blocks every write and SELECT FOR UPDATE; plain reads go on',
  ShareRowExclusiveLock: 'blocks writes, other schema changes and VACUUM; plain reads go on',
  ShareLock: 'blocks writes (INSERT, UPDATE, DELETE) and schema changes; reads go on',
  ShareUpdateExclusiveLock: 'reads and writes go on; blocks other schema changes, VACUUM and ANALYZE',
  RowExclusiveLock: 'the lock ordinary writes take; blocks only SHARE and stronger (a plain CREATE INDEX, most ALTER TABLE)',
  RowShareLock: 'the lock of SELECT FOR UPDATE/SHARE; blocks only EXCLUSIVE and ACCESS EXCLUSIVE',
  AccessShareLock: 'the lock of a plain read; blocks only ACCESS EXCLUSIVE',
};

export interface LockEntry {
  mode: string;
  relations: string[];
}

/** One entry per lock mode, strongest first: the mode and the relations it is taken on. */
export function lockEntries(req: GateRequest, detail: PlannedStepDetail | undefined): LockEntry[] {
  const byMode = new Map<string, string[]>();
  for (const l of detail?.locks ?? []) {
    const list = byMode.get(l.mode) ?? [];
    if (!list.includes(l.relation)) list.push(l.relation);
    byMode.set(l.mode, list);
  }
  if (req.lockMode && !byMode.has(req.lockMode)) byMode.set(req.lockMode, []);
  const strength = (m: string) => LOCK_STRENGTH[m as keyof typeof LOCK_STRENGTH] ?? 0;
  return [...byMode.entries()].map(([mode, relations]) => ({ mode, relations })).sort((a, b) => strength(b.mode) - strength(a.mode));
}

/** "ACCESS EXCLUSIVE on public.t: blocks every read and write, …" */
export function lockEntryText(e: LockEntry): string {
  const on = e.relations.length ? ` on ${e.relations.join(', ')}` : '';
  return `${lockSqlName(e.mode)}${on}: ${LOCK_EFFECT[e.mode] ?? 'see the lock table in the PostgreSQL docs'}`;
}
