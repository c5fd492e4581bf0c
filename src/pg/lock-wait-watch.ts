// Watches one statement's session for a lock wait. A wait that ends in the lock being granted leaves
// no trace otherwise (the monitor's polls can miss it), so the executor reports it as an event:
// "waited 1.4s for ACCESS EXCLUSIVE on public.t behind pid 123". Quick statements cost nothing: the
// first look comes only after FIRST_LOOK_MS.
import type pg from 'pg';
import type { Clock } from '../util/clock.js';
import { sqlText } from './sql-files.js';

const FIRST_LOOK_MS = 150;
const EVERY_MS = 100;

export type LockWaitSeen = {
  mode: string;
  lockType: string;
  relation: string | null;
  /** Sessions it waited behind (the union over the polls that saw the wait). */
  blockers: number[];
  /** From the start of the wait to the grant (bounded by the statement's end or the first poll that saw no wait). */
  waitedMs: number;
};

interface Row {
  mode: string;
  locktype: string;
  relation: string | null;
  blockers: number[];
  waited_ms: number;
}

export class LockWaitWatch {
  private readonly stop = new AbortController();
  private seen?: Omit<LockWaitSeen, 'waitedMs'> & { startedAt: number; endedAt?: number };
  private readonly loop: Promise<void>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly pid: number,
  ) {
    this.loop = this.watch().catch(() => {});
  }

  private async watch(): Promise<void> {
    await this.clock.sleep(FIRST_LOOK_MS, this.stop.signal);
    for (;;) {
      const r = await this.pool.query<Row>(sqlText('pg/sql', 'own-lock-wait'), [this.pid]);
      if (this.stop.signal.aborted) return;
      this.record(r.rows[0], this.clock.now());
      await this.clock.sleep(EVERY_MS, this.stop.signal);
    }
  }

  private record(row: Row | undefined, at: number): void {
    if (!row) {
      // The wait (if one was seen) ended since the last poll.
      if (this.seen && this.seen.endedAt === undefined) this.seen.endedAt = at;
      return;
    }
    if (this.seen?.endedAt !== undefined) return; // report the first wait of the statement only
    const startedAt = at - Number(row.waited_ms);
    const blockers = [...new Set([...(this.seen?.blockers ?? []), ...row.blockers])];
    this.seen = { mode: row.mode, lockType: row.locktype, relation: row.relation, blockers, startedAt: this.seen?.startedAt ?? startedAt };
  }

  /** Stops watching when the statement has ended (at `endedAt`); the wait it saw, if any. */
  async end(endedAt: number): Promise<LockWaitSeen | undefined> {
    this.stop.abort();
    await this.loop;
    if (!this.seen) return undefined;
    const { startedAt, endedAt: sawEnd, ...rest } = this.seen;
    return { ...rest, waitedMs: Math.max(0, Math.min(endedAt, sawEnd ?? endedAt) - startedAt) };
  }
}
