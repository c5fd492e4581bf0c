// What production is doing while a lesson's change lands: a session that holds a lock on the table
// for a while (a long report, an open write transaction) or, in a drill, a forgotten session idle in
// transaction that never ends by itself. Each runs on its own connection with its own
// application_name, so the Locks panel shows it for what it is.
import pg from 'pg';
import { quoteIdent } from '../pg/connection.js';

export type HoldKind = 'report' | 'writer' | 'idle_blocker';

const APP: Record<HoldKind, string> = {
  report: 'learn:nightly-report',
  writer: 'learn:checkout-tx',
  idle_blocker: 'psql (forgotten)',
};

/** The statement that takes the lock; none touches a row the application uses. */
function lockingSql(kind: HoldKind, table: string): string {
  const t = quoteIdent(table);
  if (kind === 'writer') return `UPDATE ${t} SET status = status WHERE id < 0`;
  if (kind === 'report') return `SELECT count(*) FROM ${t}`;
  return `SELECT 1 FROM ${t} LIMIT 1`;
}

export class HeldTransaction {
  private client?: pg.Client;
  private timer?: NodeJS.Timeout;
  private ended?: Promise<void>;
  pid?: number;
  readonly application: string;

  constructor(
    private readonly url: string,
    readonly kind: HoldKind,
    private readonly table: string,
  ) {
    this.application = APP[kind];
  }

  /** Resolves once the lock is held; it is released after `forMs` (never, when undefined). */
  async begin(forMs?: number): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, application_name: this.application });
    c.on('error', () => {});
    this.client = c;
    await c.connect();
    this.pid = (c as unknown as { processID?: number }).processID;
    await c.query('BEGIN');
    await c.query(lockingSql(this.kind, this.table));
    if (forMs !== undefined) this.timer = setTimeout(() => void this.end(), forMs);
  }

  /** Commits (or, when the session was terminated, just closes). Idempotent. */
  end(): Promise<void> {
    this.ended ??= (async () => {
      clearTimeout(this.timer);
      const c = this.client;
      if (!c) return;
      await c.query('COMMIT').catch(() => {});
      await c.end().catch(() => {});
    })();
    return this.ended;
  }
}
