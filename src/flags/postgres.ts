// Postgres-table backend: one row per flag in a small table the application reads
// (SELECT percentage FROM feature_flags WHERE name = $1). The table is created on first use
// unless the runbook says not to.
import { DEFAULT_FLAG_TABLE, type FlagBackend } from './flag-backend.js';
import type { Queryable } from '../pg/queryable.js';
import { quoteQualified } from '../pg/connection.js';

export class PostgresFlags implements FlagBackend {
  readonly description: string;
  private readonly table: string;
  constructor(
    private readonly db: Queryable,
    table = DEFAULT_FLAG_TABLE,
  ) {
    this.table = quoteQualified(table);
    this.description = `postgres table ${table}`;
  }

  /** CREATE TABLE IF NOT EXISTS, under a short lock_timeout (one implicit transaction). */
  async ensureTable(lockTimeoutMs = 2000): Promise<void> {
    await this.db.query(
      `SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))};
       CREATE TABLE IF NOT EXISTS ${this.table} (
         name text PRIMARY KEY,
         percentage int NOT NULL CHECK (percentage BETWEEN 0 AND 100),
         updated_at timestamptz NOT NULL DEFAULT now(),
         updated_by text
       )`,
    );
  }

  async get(key: string): Promise<number | null> {
    const r = await this.db.query<{ percentage: number }>(`SELECT percentage FROM ${this.table} WHERE name = $1`, [key]);
    return r.rows[0] ? Number(r.rows[0].percentage) : null;
  }

  async set(key: string, percentage: number, by: string): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.table} (name, percentage, updated_at, updated_by) VALUES ($1, $2, now(), $3)
       ON CONFLICT (name) DO UPDATE SET percentage = excluded.percentage, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      [key, percentage, by],
    );
  }

  async unset(key: string): Promise<void> {
    await this.db.query(`DELETE FROM ${this.table} WHERE name = $1`, [key]);
  }

  async close(): Promise<void> {}
}
