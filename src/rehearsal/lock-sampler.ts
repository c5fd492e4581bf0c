// Samples, from its own connection, what the runner's sessions hold and wait for in the sandbox:
// relation locks (pg_locks), whom they wait behind (pg_blocking_pids), the WAL position, the
// relfilenodes of the traced tables and index-build progress. Each sample is tagged with the step
// running when it was taken; the trace turns samples into per-step facts.
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';
import { sqlText } from '../pg/sql-files.js';
import { watchdogFor } from '../pg/stall-watchdog.js';

export interface LockRow {
  pid: number;
  relation: string;
  mode: string;
  granted: boolean;
  blockers: number[];
}

export interface Sample {
  /** Local clock: when the query was sent and when its answer came. */
  sentAt: number;
  recvAt: number;
  /** Server clock (ms since epoch) when the sample was taken. */
  serverMs: number;
  lsn: bigint;
  locks: LockRow[];
  /** relation -> relfilenode for the traced tables. */
  files: Record<string, number>;
  index: { pid: number; phase: string; lockerPid: number | null }[];
  /** Step running when the sample was sent / received (null between steps). */
  stepAtSend: string | null;
  stepAtRecv: string | null;
}

/**
 * While a step works through rows in batches (a backfill), sampling pauses once the step's lock
 * has been seen, until the step ends. Every sample is a query, and a query's snapshot holds back
 * the horizon of what btree deletion and VACUUM may remove: a sample taken while one batch runs
 * keeps that batch's old row versions from being deleted while the next batch starts, and the
 * sandbox's index then splits where the source's deletes, at a lower cost per row. Measured by hand on the
 * bench's table: sampled every 10 ms, 4 of 16 sandbox backfills fell into
 * that cheaper regime (projecting 0.6–0.75x the real run); every 100–250 ms, 2 of 20; every 2 s,
 * none of 7; paused, none of 18. The batches' lock is the same each time.
 */
const sampleSql = (): string => sqlText('rehearsal/sql', 'lock-sample');

const markSql = (): string => sqlText('rehearsal/sql', 'lock-mark');

export interface Mark {
  lsn: bigint;
  files: Record<string, number>;
}

export class LockSampler {
  readonly samples: Sample[] = [];
  /** WAL position and relfilenodes at step boundaries (\`id:start\`, \`id:end\`), from an idle connection. */
  readonly marks = new Map<string, Promise<Mark | undefined>>();
  private client?: pg.Client;
  private markClient?: pg.Client;
  private lastMark: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private running = false;
  private inFlight?: Promise<void>;
  currentStep: string | null = null;
  /** Set while a batched row-work step runs: sampling pauses once its lock was seen. */
  rowWork = false;
  private rowWorkSeen = false;
  errors = 0;

  constructor(
    private readonly url: string,
    private readonly opts: { appPrefix: string; tables: string[]; intervalMs?: number },
  ) {}

  get intervalMs(): number {
    return this.opts.intervalMs ?? 10;
  }

  /**
   * Called synchronously from the bus at step boundaries, on its own idle connection. A step's end
   * and the next one's start come together: marks go one after another (one query at a time per client).
   */
  mark(key: string): void {
    const c = this.markClient;
    if (!c) return;
    const query = (): Promise<Mark | undefined> =>
      c.query<{ lsn: string; files: Record<string, number> }>(markSql(), [this.opts.tables]).then(
        (r) => ({ lsn: BigInt(r.rows[0]!.lsn.split('.')[0]!), files: r.rows[0]!.files }),
        () => undefined,
      );
    const next = this.lastMark.then(query);
    this.lastMark = next;
    this.marks.set(key, next);
  }

  async start(): Promise<void> {
    // Short timeouts: the sampler must never block or be blocked.
    this.client = new pg.Client({
      ...clientConfig(this.url),
      application_name: 'pgrunbook-rehearsal:sampler',
      options: '-c lock_timeout=200 -c statement_timeout=2000',
    });
    this.client.on('error', () => {});
    // statement_timeout cannot end a query whose answer the network swallows; the watchdog can.
    watchdogFor(this.url).track(this.client);
    await this.client.connect();
    this.markClient = new pg.Client({
      ...clientConfig(this.url),
      application_name: 'pgrunbook-rehearsal:marks',
      options: '-c lock_timeout=200 -c statement_timeout=2000',
    });
    this.markClient.on('error', () => {});
    watchdogFor(this.url).track(this.markClient);
    await this.markClient.connect();
    this.running = true;
    await this.tick();
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    if (!this.rowWork) this.rowWorkSeen = false;
    const paused = this.rowWork && this.rowWorkSeen;
    this.timer = setTimeout(() => {
      if (paused) return this.schedule();
      this.inFlight = this.tick().finally(() => this.schedule());
    }, this.intervalMs);
  }

  /** Takes one sample now (also used at phase boundaries). */
  async tick(): Promise<void> {
    if (!this.client) return;
    const stepAtSend = this.currentStep;
    const sentAt = Date.now();
    try {
      const r = await this.client.query<{ server_ms: number; lsn: string; locks: any[]; files: Record<string, number>; index: any[] }>(
        sampleSql(),
        [this.opts.appPrefix, this.opts.tables],
      );
      const row = r.rows[0]!;
      this.samples.push({
        sentAt,
        recvAt: Date.now(),
        serverMs: Number(row.server_ms),
        lsn: BigInt(row.lsn.split('.')[0]!),
        locks: row.locks.map((l) => ({ pid: l.pid, relation: l.relation, mode: l.mode, granted: l.granted, blockers: l.blockers ?? [] })),
        files: row.files,
        index: row.index.map((i) => ({ pid: i.pid, phase: i.phase, lockerPid: i.locker ?? null })),
        stepAtSend,
        stepAtRecv: this.currentStep,
      });
      // The batches' write lock (not just a read of the boundary query) is what the trace reports.
      if (this.rowWork && row.locks.some((l) => l.granted && l.mode !== 'AccessShareLock')) this.rowWorkSeen = true;
    } catch {
      this.errors++;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight?.catch(() => {});
    await this.tick();
    await Promise.all(this.marks.values());
    await this.client?.end().catch(() => {});
    await this.markClient?.end().catch(() => {});
  }

  /** Server clock minus local clock, from the sample with the shortest round trip. */
  clockOffsetMs(): number {
    let best: Sample | undefined;
    for (const s of this.samples) if (!best || s.recvAt - s.sentAt < best.recvAt - best.sentAt) best = s;
    return best ? best.serverMs - (best.sentAt + best.recvAt) / 2 : 0;
  }

  /** Last sample answered at or before `t` (local). */
  before(t: number): Sample | undefined {
    let found: Sample | undefined;
    for (const s of this.samples) if (s.recvAt <= t) found = s;
    return found;
  }

  /** First sample sent at or after `t` (local). */
  after(t: number): Sample | undefined {
    return this.samples.find((s) => s.sentAt >= t);
  }
}
