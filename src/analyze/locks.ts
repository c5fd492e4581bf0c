// Lock bookkeeping: per relation, the strongest mode a statement takes.
import { LOCK_STRENGTH, type LockMode } from '../pg/lock-modes.js';
import type { LockPrediction, RelKindName } from './analysis-types.js';
import type { RelKind } from './analysis-catalog.js';

/** What each mode blocks, in operator words. */
export const LOCK_BLOCKS: Record<LockMode, string> = {
  AccessShareLock: 'only ACCESS EXCLUSIVE (DDL that rewrites or drops)',
  RowShareLock: 'EXCLUSIVE and ACCESS EXCLUSIVE',
  RowExclusiveLock: 'SHARE and stronger (CREATE INDEX, VACUUM FULL, most ALTER TABLE)',
  ShareUpdateExclusiveLock: 'other schema changes, VACUUM and ANALYZE; reads and writes continue',
  ShareLock: 'writes (INSERT, UPDATE, DELETE); reads continue',
  ShareRowExclusiveLock: 'writes and other schema changes; reads continue',
  ExclusiveLock: 'writes and SELECT ... FOR UPDATE; plain reads continue',
  AccessExclusiveLock: 'everything, plain SELECTs included',
};

/** SQL spelling (LOCK TABLE ... IN x MODE, docs): AccessExclusiveLock -> ACCESS EXCLUSIVE. */
export function sqlModeName(mode: LockMode): string {
  return mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

export function relkindName(k: RelKind | undefined): RelKindName | undefined {
  switch (k) {
    case 'r':
      return 'table';
    case 'p':
      return 'partitioned table';
    case 'v':
      return 'view';
    case 'm':
      return 'materialized view';
    case 'f':
      return 'foreign table';
    case 'i':
    case 'I':
      return 'index';
    case 'S':
      return 'sequence';
    default:
      return undefined;
  }
}

export function stronger(a: LockMode, b: LockMode): LockMode {
  return LOCK_STRENGTH[a] >= LOCK_STRENGTH[b] ? a : b;
}

export class LockSet {
  private byRel = new Map<string, LockPrediction>();

  add(relation: string, mode: LockMode, opts: { relkind?: RelKindName; why?: string } = {}): void {
    const cur = this.byRel.get(relation);
    if (!cur) {
      this.byRel.set(relation, {
        relation,
        mode,
        ...(opts.relkind ? { relkind: opts.relkind } : {}),
        ...(opts.why ? { why: opts.why } : {}),
      });
      return;
    }
    if (LOCK_STRENGTH[mode] > LOCK_STRENGTH[cur.mode]) cur.mode = mode;
    if (!cur.relkind && opts.relkind) cur.relkind = opts.relkind;
    if (!cur.why && opts.why) cur.why = opts.why;
  }

  has(relation: string): boolean {
    return this.byRel.has(relation);
  }

  list(): LockPrediction[] {
    return [...this.byRel.values()];
  }

  strongest(): LockMode | undefined {
    let best: LockMode | undefined;
    for (const l of this.byRel.values()) best = best ? stronger(best, l.mode) : l.mode;
    return best;
  }
}

export function strongestOf(locks: { mode: LockMode }[]): LockMode | undefined {
  let best: LockMode | undefined;
  for (const l of locks) best = best ? stronger(best, l.mode) : l.mode;
  return best;
}
