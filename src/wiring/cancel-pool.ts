// The one session the cancel key uses, opened on first use. Its statement_timeout keeps a cancel
// that cannot get through (a lock on the catalog, an overloaded server) from hanging the key.
import type pg from 'pg';
import { createPool, type ConnectionSpec } from '../pg/connection.js';
import type { Queryable } from '../pg/queryable.js';

const CANCEL_APP = 'pgrunbook:ui';
const CANCEL_STATEMENT_TIMEOUT = '2s';

export class CancelPool {
  private pool?: pg.Pool;

  constructor(private readonly connection: ConnectionSpec) {}

  db(): Queryable {
    this.pool ??= createPool(this.connection, {
      applicationName: CANCEL_APP,
      max: 1,
      sessionSettings: { statement_timeout: CANCEL_STATEMENT_TIMEOUT },
    });
    return this.pool;
  }

  async end(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => {});
  }
}
