// What the runner receives from the composition root (src/cli/composition-root.ts) besides the
// step kinds: how to open sessions on the target, and an optional probe for the sessions that hold
// locks on what a step is about to lock. The engine itself opens nothing and queries no catalog.
import type pg from 'pg';
import type { Queryable } from '../pg/queryable.js';
import type { Evidence } from './gates.js';

export interface ConnectionFactory {
  /** A dedicated session (the run lock, the journal); not yet connected. */
  client(applicationName: string): pg.Client;
  /** A pool for the steps. */
  pool(applicationName: string, max: number): pg.Pool;
}

/** Gate evidence: who holds locks on `relations` now (src/monitor/blockers-now.ts). */
export type BlockersProbe = (db: Queryable, relations: string[]) => Promise<Evidence[]>;
