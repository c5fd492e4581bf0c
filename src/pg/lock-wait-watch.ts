// Watches one statement's session for a lock wait. A wait that ends in the lock being granted leaves
// no trace otherwise (the monitor's polls can miss it), so the executor reports it as an event:
// "waited 140ms for ACCESS EXCLUSIVE on public.t behind pid 123 (client backend, app, psql, idle in
// transaction, transaction open 2.1 s)". The start is the server's own
// pg_locks.waitstart (PostgreSQL 14+); the grant is bounded by the first poll that no longer sees
// the wait, and polls are 20 ms apart for the first two seconds, so a short wait is seen and its
// figure is within a poll of the truth. Statements quicker than the first look cost nothing.
// The probes run on a one-connection pool of their own: the watched statement holds one of the
// run's connections, and on a full run pool a probe there would queue behind the very work it watches.
import pg from 'pg';
import type { Clock } from '../util/clock.js';
import { sqlText } from './sql-files.js';

const FIRST_LOOK_MS = 20;
/** Poll interval by time since the statement began: tight while a wait is likely short, then easing off. */
const EVERY_MS: [sinceMs: number, everyMs: number][] = [
  [0, 20],
  [2_000, 100],
  [30_000, 500],
];
/** A probe that cannot get its connection within this is skipped, never queued behind the work. */
const PROBE_CONNECT_MS = 1_000;

export type LockWaitSeen = {
  mode: string;
  lockType: string;
  relation: string | null;
  /** Sessions it waited behind (the union over the polls that saw the wait). */
  blockers: number[];
  /** What each blocker was when first seen, by pid: "client backend, app, psql, idle in transaction, transaction open 2.1 s". */
  blockerDetails?: Record<string, string>;
  /** From the start of the wait (pg_locks.waitstart) to the grant (the statement's end or the first poll that saw no wait, whichever is first). */
  waitedMs: number;
};

interface Row {
  mode: string;
  locktype: string;
  relation: string | null;
  blockers: number[];
  blocker_details: Record<string, string> | null;
  waited_ms: number;
}

const probePools = new WeakMap<pg.Pool, pg.Pool>();

/** The one-connection probe pool beside a run pool: same server and credentials; its idle connection closes after 30 s or when the run pool ends, and never keeps the process alive. */
function probePoolFor(pool: pg.Pool): pg.Pool {
  let probes = probePools.get(pool);
  if (!probes) {
    probes = new pg.Pool({
      ...pool.options,
      max: 1,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: PROBE_CONNECT_MS,
      allowExitOnIdle: true,
      application_name: 'pgrunbook:lock-wait-watch',
    });
    // An idle probe connection the server ends (a dropped database, a restart) must not crash the run.
    probes.on('error', () => {});
    probePools.set(pool, probes);
    // It ends with its run pool: a fleet finishes targets faster than 30 s of idle, and each one's
    // lingering probe session counted against the server's connections (80 per server at 100 targets).
    const endRunPool = pool.end.bind(pool) as () => Promise<void>;
    const ending = probes;
    pool.end = (() =>
      ending
        .end()
        .catch(() => {})
        .then(endRunPool)) as typeof pool.end;
  }
  return probes;
}

/**
 * Opens the probe connection ahead of need (the executor does it when it is made): opening a
 * connection on a loaded server can take longer than a short wait lasts.
 */
export function openLockWaitProbes(pool: pg.Pool): pg.Pool {
  const probes = probePoolFor(pool);
  if (probes.totalCount === 0)
    probes.connect().then(
      (c) => c.release(),
      () => {},
    );
  return probes;
}

function everyMs(sinceMs: number): number {
  let every = EVERY_MS[0]![1];
  for (const [since, ms] of EVERY_MS) if (sinceMs >= since) every = ms;
  return every;
}

export class LockWaitWatch {
  private readonly stop = new AbortController();
  private seen?: Omit<LockWaitSeen, 'waitedMs'> & { startedAt: number; endedAt?: number };
  private readonly loop: Promise<void>;
  private readonly began: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly pid: number,
  ) {
    this.began = clock.now();
    this.loop = this.watch().catch(() => {});
  }

  private async watch(): Promise<void> {
    const probes = openLockWaitProbes(this.pool);
    await this.clock.sleep(FIRST_LOOK_MS, this.stop.signal);
    for (;;) {
      const sent = this.clock.now();
      const r = await probes.query<Row>(sqlText('pg/sql', 'own-lock-wait'), [this.pid]).catch(() => undefined);
      const received = this.clock.now();
      // The server read its clock after `sent`: counting from there never makes the wait shorter than it was.
      // A probe in flight when the statement ended still counts: end() awaits it before the session runs anything else.
      if (r) this.record(r.rows[0], sent, received);
      if (this.stop.signal.aborted) return;
      await this.clock.sleep(everyMs(received - this.began), this.stop.signal);
    }
  }

  private record(row: Row | undefined, at: number, received: number): void {
    if (!row) {
      // The wait (if one was seen) ended before this poll read pg_locks.
      if (this.seen && this.seen.endedAt === undefined) this.seen.endedAt = received;
      return;
    }
    if (this.seen?.endedAt !== undefined) return; // report the first wait of the statement only
    // waitstart is null for the first moments of a wait (waited_ms 0): a later poll's figure is then earlier, and true.
    const startedAt = Math.max(this.began, Math.min(this.seen?.startedAt ?? at, at - Number(row.waited_ms)));
    const blockers = [...new Set([...(this.seen?.blockers ?? []), ...row.blockers])];
    const blockerDetails = { ...(row.blocker_details ?? {}), ...(this.seen?.blockerDetails ?? {}) };
    this.seen = { mode: row.mode, lockType: row.locktype, relation: row.relation, blockers, startedAt, blockerDetails };
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
