// One batch transaction on a range row (range-store.ts), on the lane's own connection:
//
//   BEGIN (the engine's SET LOCALs) ; lock the range row ; boundary of the batch we expect
//   the batch statement moving the range's cursor ; COMMIT
//
// The same two round trips as the step's own cursor (engine.ts `transaction`), and the same rule:
// the locked row is the truth, so a boundary computed from a stale cursor is recomputed before
// anything is written. Failures are thrown to the engine's `attempt`, which retries them as it does
// its own batches.
import type pg from 'pg';
import { boundarySql, literalBinder } from './batch-sql.js';
import type { BackfillTarget } from './backfill-target.js';
import { sameKey, selects, type CursorMove } from './pass-sql.js';
import { lockRangeSql, rangeDone, toRangeRow, type RangeRow } from './range-store.js';
import { PinnedClient } from './pinned-client.js';

export type Mode = 'fast' | 'skip-locked';

export type LaneOutcome =
  | { kind: 'batch'; keys: number; updated: number; skipped: number; rowsDone: number; batchSize: number }
  | { kind: 'range-done' };

export interface LaneDeps {
  pool: pg.Pool;
  info: BackfillTarget;
  runId: string;
  stepId: string;
  /** BEGIN and the SET LOCALs every batch transaction starts with. */
  begin: () => string[];
  batchSql(mode: Mode, lower: string[] | null, move: CursorMove): string;
  /** Watches for sessions waiting on this backend's locks while the batch runs. */
  watchWaiters(pid: number | undefined): { settle(): Promise<void> };
}

export class RangeLane {
  private readonly client: PinnedClient;

  constructor(
    private readonly deps: LaneDeps,
    public state: RangeRow,
  ) {
    this.client = new PinnedClient(deps.pool);
  }

  /** The backend of this lane's connection, while it has one. */
  get pid(): number | undefined {
    return this.client.pid;
  }

  get done(): boolean {
    return rangeDone(this.state);
  }

  async transaction(size: number, mode: Mode): Promise<LaneOutcome> {
    const { deps } = this;
    const c = await this.client.get();
    const expected = this.state;
    const first = [...deps.begin(), lockRangeSql(deps.runId, deps.stepId, expected.rangeNo)];
    if (!rangeDone(expected)) first.push(boundarySql(deps.info, expected.cursor, expected.upperBound, size, literalBinder));
    const watch = deps.watchWaiters((c as any).processID as number | undefined);
    let committed = false;
    try {
      const results = selects(await c.query(first.join(';\n')));
      const locked = results[0]?.rows[0];
      // No row: the range was folded into the step's cursor (finished) by the other worker.
      const cur = locked ? toRangeRow(locked) : { ...expected, cursor: expected.upperBound };
      this.state = cur;
      if (rangeDone(cur)) {
        await c.query('COMMIT');
        committed = true;
        return { kind: 'range-done' };
      }
      const row =
        sameKey(cur.cursor, expected.cursor) && results.length > 1
          ? (results[1]!.rows[0] as { k: string[] } | undefined)
          : (await c.query<{ k: string[] }>(boundarySql(deps.info, cur.cursor, cur.upperBound, size, literalBinder))).rows[0];
      const end = row?.k ?? cur.upperBound;
      const keys = row ? size : null;
      const move: CursorMove = { runId: deps.runId, stepId: deps.stepId, rangeNo: cur.rangeNo, end, keys, batchSize: size };
      const r = selects(await c.query(`${deps.batchSql(mode, cur.cursor, move)};\nCOMMIT`))[0]!.rows[0] as {
        updated: number;
        skipped: number;
        rows_done: number;
      };
      committed = true;
      const done = keys ?? r.updated;
      this.state = { ...cur, cursor: end, rowsDone: r.rows_done, keysDone: cur.keysDone + done, batches: cur.batches + 1 };
      return { kind: 'batch', keys: done, updated: r.updated, skipped: r.skipped, rowsDone: r.rows_done, batchSize: size };
    } catch (err) {
      if (!committed) await c.query('ROLLBACK').catch(() => this.release(true));
      throw err;
    } finally {
      await watch.settle();
    }
  }

  release(broken: boolean): void {
    this.client.release(broken);
  }
}
