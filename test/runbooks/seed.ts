// The tables the shipped runbooks expect by default, at a test-friendly size.
import type { TestDb } from '../support/pg.js';
import type { RunEvent } from '../../src/engine/events.js';
import { backfillSchemaSql } from '../../src/backfill/cursor-store.js';

export async function seedOrders(db: TestDb, rows = 20_000, idType: 'serial' | 'bigserial' = 'bigserial'): Promise<void> {
  await db.query(`
    DROP TABLE IF EXISTS order_items, orders, customers, feature_flags CASCADE;
    DROP SCHEMA IF EXISTS pgrunbook CASCADE;
    CREATE TABLE customers (id int PRIMARY KEY, tier text NOT NULL, country text NOT NULL);
    INSERT INTO customers SELECT g, (ARRAY['gold','silver','bronze'])[g % 3 + 1], (ARRAY['FR','DE','US','JP'])[g % 4 + 1] FROM generate_series(1, 500) g;
    CREATE TABLE orders (id ${idType} PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO orders (customer_id, amount) SELECT g % 500 + 1, (g % 1000) / 7.0 FROM generate_series(1, ${rows}) g;
    CREATE INDEX orders_customer_idx ON orders (customer_id);
    CREATE TABLE order_items (order_id ${idType === 'serial' ? 'int' : 'bigint'} NOT NULL REFERENCES orders (id), qty int NOT NULL);
    INSERT INTO order_items SELECT g, 1 FROM generate_series(1, 1000) g;
    CREATE VIEW recent_orders AS SELECT id, customer_id, amount FROM orders WHERE created_at > now() - interval '1 day';
    ANALYZE orders;
  `);
  // The backfill kind keeps its cursor in pgrunbook.backfill_cursors. The runner's state-schema
  // migration does not create that table yet (src/backfill registers no state SQL), so create it
  // here, idempotently, exactly as the backfill benchmark does.
  await db.query(`CREATE SCHEMA IF NOT EXISTS pgrunbook; ${backfillSchemaSql}`);
}

/** A readable failure: the failing step's error and hint. */
export function failure(events: RunEvent[]): string {
  return events
    .filter((e) => e.type === 'step.failed' || e.type === 'run.failed')
    .map((e: any) => `${e.stepId ?? ''}: ${e.error}${e.hint ? ` (${e.hint})` : ''}`)
    .join('\n');
}

export function completedSteps(events: RunEvent[]): string[] {
  return events.filter((e) => e.type === 'step.completed').map((e: any) => `${e.phase}/${e.stepId}`);
}
