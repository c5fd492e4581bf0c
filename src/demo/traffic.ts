// Synthetic application traffic for the demo: a pool of clients doing point reads and updates on
// `orders` at a fixed rate, plus, now and then, a long "report" transaction (active, then idle in
// transaction: it pins xmin and holds ACCESS SHARE, so a DDL has to wait for it) and a blocker
// that holds a row lock on a hot row (so the Locks panel shows a real blocking tree).
import pg from 'pg';

export interface TrafficOptions {
  connectionString: string;
  table?: string;
  /** Highest id to touch (the seeded row count). */
  rows: number;
  /** Operations per second over all clients; 0 = none. */
  rate?: number;
  clients?: number;
  /** Share of operations that are UPDATEs. */
  writeShare?: number;
  /** Share of operations aimed at the few hot rows a blocker may hold. */
  hotShare?: number;
  hotRows?: number;
  /** First long transaction after this many ms, then every `longTxEveryMs`; 0 = never. */
  longTxFirstMs?: number;
  longTxEveryMs?: number;
  longTxMs?: number;
  blockerFirstMs?: number;
  blockerEveryMs?: number;
  blockerMs?: number;
  /** Told when each application request starts and ends (`pgrunbook learn` measures latency with it). */
  observer?: RequestObserver;
  /** Queue requests for a busy pool, as an application does, instead of skipping them. */
  queueWhenBusy?: boolean;
}

/** `start` is called as a request is issued; the function it returns, when the request ends. */
export interface RequestObserver {
  start(kind: 'read' | 'write'): (failed?: Error) => void;
}

export interface TrafficStats {
  reads: number;
  writes: number;
  errors: number;
  /** Operations not started because every client was busy (fixed rate: no pile-up). */
  skipped: number;
  longTransactions: number;
  blockers: number;
  lastError?: string;
}

export const TRAFFIC_APP = 'demo:app';

const DEFAULTS = {
  table: 'orders',
  rate: 40,
  clients: 6,
  writeShare: 0.35,
  hotShare: 0.15,
  hotRows: 20,
  longTxFirstMs: 9_000,
  longTxEveryMs: 40_000,
  longTxMs: 8_000,
  blockerFirstMs: 4_000,
  blockerEveryMs: 25_000,
  blockerMs: 5_000,
  queueWhenBusy: false,
};

const TICK_MS = 50;

export class SyntheticTraffic {
  readonly stats: TrafficStats = { reads: 0, writes: 0, errors: 0, skipped: 0, longTransactions: 0, blockers: 0 };
  private readonly o: Required<Omit<TrafficOptions, 'connectionString' | 'observer'>> &
    Pick<TrafficOptions, 'connectionString' | 'observer'>;
  private pool?: pg.Pool;
  private timers: NodeJS.Timeout[] = [];
  private inFlight = new Set<Promise<unknown>>();
  private sideClients = new Set<pg.Client>();
  private started = 0;
  private issued = 0;
  private stopping = false;
  /** Not issuing (pause()), until resume(). */
  private paused = false;
  /** Application requests issued and not yet ended (queued for a pool client included). */
  private readonly requests = new Set<Promise<unknown>>();
  private readonly halt = new AbortController();
  private seq = 0;

  constructor(opts: TrafficOptions) {
    this.o = { ...DEFAULTS, ...opts } as SyntheticTraffic['o'];
  }

  private get table(): string {
    return `"${this.o.table.replace(/"/g, '""')}"`;
  }

  start(): void {
    if (this.pool) return;
    this.pool = new pg.Pool({
      connectionString: this.o.connectionString,
      application_name: TRAFFIC_APP,
      max: this.o.clients,
      // An application without lock_timeout, like most: it waits behind locks. A cap keeps the demo sane.
      options: '-c statement_timeout=30s',
    });
    this.pool.on('error', () => {});
    this.started = Date.now();
    if (this.o.rate > 0) this.timers.push(setInterval(() => this.tick(), TICK_MS));
    this.every(this.o.longTxFirstMs, this.o.longTxEveryMs, () => this.longTransaction());
    this.every(this.o.blockerFirstMs, this.o.blockerEveryMs, () => this.blocker());
  }

  private every(firstMs: number, everyMs: number, fn: () => Promise<void>): void {
    if (firstMs <= 0 && everyMs <= 0) return;
    const run = () => void this.track(fn());
    this.timers.push(
      setTimeout(
        () => {
          run();
          if (everyMs > 0) this.timers.push(setInterval(run, everyMs));
        },
        Math.max(0, firstMs),
      ),
    );
  }

  private track<T>(p: Promise<T>): Promise<T | void> {
    const q = p.catch((err: Error) => {
      if (this.stopping) return;
      this.stats.errors++;
      this.stats.lastError = err.message;
    });
    this.inFlight.add(q);
    void q.finally(() => this.inFlight.delete(q));
    return q;
  }

  private tick(): void {
    if (this.stopping || this.paused || !this.pool) return;
    const due = Math.floor(((Date.now() - this.started) / 1000) * this.o.rate) - this.issued;
    for (let i = 0; i < due; i++) {
      this.issued++;
      if (!this.o.queueWhenBusy && this.pool.totalCount >= this.o.clients && this.pool.idleCount === 0) {
        this.stats.skipped++;
        continue;
      }
      const r = this.track(this.operation());
      this.requests.add(r);
      void r.finally(() => this.requests.delete(r));
    }
  }

  /**
   * Stops issuing requests and waits (up to `limitMs`) until those already issued have ended, the
   * ones queued for a busy pool included: what a phase issued is then all measured, and none of it
   * spills into the next phase. False when some were still pending at the limit.
   */
  async pause(limitMs = 30_000): Promise<boolean> {
    this.paused = true;
    const until = Date.now() + limitMs;
    while (this.requests.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    return this.requests.size === 0;
  }

  /** Issues again at the same rate, counted from now (no burst to catch up on the paused time). */
  resume(): void {
    if (!this.paused) return;
    this.started = Date.now();
    this.issued = 0;
    this.paused = false;
  }

  /** xorshift32 in [0, 1): cheap, and independent enough between draws (unlike an LCG's low bits). */
  private rand(): number {
    let x = this.seq || 0x9e3779b9;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seq = x >>> 0;
    return this.seq / 2 ** 32;
  }

  private pickId(): number {
    const hot = this.rand() < this.o.hotShare;
    const range = hot ? this.o.hotRows : this.o.rows;
    return 1 + Math.floor(this.rand() * range);
  }

  private async operation(): Promise<void> {
    const write = this.rand() < this.o.writeShare;
    const end = this.o.observer?.start(write ? 'write' : 'read');
    try {
      await this.request(write);
      end?.();
    } catch (err) {
      end?.(err as Error);
      throw err;
    }
  }

  private async request(write: boolean): Promise<void> {
    const id = this.pickId();
    if (write) {
      await this.pool!.query(`UPDATE ${this.table} SET status = $2, updated_at = now() WHERE id = $1`, [
        id,
        this.rand() < 0.5 ? 'paid' : 'packed',
      ]);
      this.stats.writes++;
    } else {
      await this.pool!.query(`SELECT id, status, amount FROM ${this.table} WHERE id = $1`, [id]);
      this.stats.reads++;
    }
  }

  private async side(app: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
    const c = new pg.Client({ connectionString: this.o.connectionString, application_name: app });
    c.on('error', () => {});
    this.sideClients.add(c);
    try {
      await c.connect();
      await fn(c);
    } finally {
      this.sideClients.delete(c);
      await c.end().catch(() => {});
    }
  }

  /** Resolves after `ms`, or at once when the traffic stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.halt.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.halt.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** A reporting transaction: a long active query, then idle in transaction, holding ACCESS SHARE. */
  private longTransaction(): Promise<void> {
    if (this.stopping || this.o.longTxMs <= 0) return Promise.resolve();
    this.stats.longTransactions++;
    return this.side('demo:report', async (c) => {
      await c.query('BEGIN');
      await c.query(`SELECT count(*), sum(amount) FROM ${this.table} WHERE id <= 50000`);
      await c.query('SELECT pg_sleep($1)', [this.o.longTxMs / 2000]);
      await this.sleep(this.o.longTxMs / 2);
      await c.query('COMMIT');
    });
  }

  /** Holds a row lock on a hot row: updates of that row queue behind it. */
  private blocker(): Promise<void> {
    if (this.stopping || this.o.blockerMs <= 0) return Promise.resolve();
    this.stats.blockers++;
    const id = 1 + (this.stats.blockers % this.o.hotRows);
    return this.side('demo:blocker', async (c) => {
      await c.query('BEGIN');
      await c.query(`UPDATE ${this.table} SET status = 'on hold', updated_at = now() WHERE id = $1`, [id]);
      await this.sleep(this.o.blockerMs);
      await c.query('COMMIT');
    });
  }

  /** Stops issuing work, ends the side transactions (the server rolls them back) and closes the pool. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.halt.abort();
    for (const t of this.timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    // A side session may sit in pg_sleep: end it on the server rather than wait for the sleep.
    const pids = [...this.sideClients].map((c) => (c as unknown as { processID?: number }).processID).filter((p): p is number => !!p);
    if (pids.length && this.pool)
      await this.pool.query('SELECT pg_terminate_backend(p) FROM unnest($1::int[]) AS p', [pids]).catch(() => {});
    for (const c of this.sideClients) void c.end().catch(() => {});
    const deadline = new Promise((r) => setTimeout(r, 3000).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    await this.pool?.end().catch(() => {});
  }
}
