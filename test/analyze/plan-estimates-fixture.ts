// The one set-up shared by test/analyze/plan-estimates*.test.ts and bench/plan-estimates.ts, so all
// measure the same thing: an `orders` table referencing `customers`, a runbook with every step kind
// that reads or moves rows, in the order the bench runs them, and the real run of its deploy phase.
import { newRunner } from '../../src/cli/composition-root.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { resolveConnection } from '../../src/pg/connection.js';
import type { Runbook } from '../../src/runbook/model.js';
import type { RunEvent } from '../../src/engine/events.js';

/** Anything that runs SQL text (a pg Client or Pool). */
interface Sql {
  query(text: string): Promise<unknown>;
}

export const CUSTOMERS = 10_000;

/** customers, and `rows` orders with an index on customer_id; VACUUM ANALYZE so sizes and row estimates are current. */
export async function seedOrders(db: Sql, rows: number): Promise<void> {
  await db.query(`
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, ${CUSTOMERS}) g;
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2),
                         status text NOT NULL, note text, created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO orders SELECT g, 1 + g % ${CUSTOMERS}, (g % 100000) / 100.0, (ARRAY['new','paid','shipped'])[1 + g % 3], NULL, now()
      FROM generate_series(1, ${rows}) g;
    CREATE INDEX orders_customer_idx ON orders (customer_id)`);
  await db.query('VACUUM ANALYZE customers');
  await db.query('VACUUM ANALYZE orders');
}

/** The step ids in runbook order, with their kinds. */
export const ESTIMATED_STEPS = [
  { id: 'fill', kind: 'backfill' },
  { id: 'nn', kind: 'not_null' },
  { id: 'chk', kind: 'add_check' },
  { id: 'fk', kind: 'add_foreign_key' },
  { id: 'idx', kind: 'create_index' },
  { id: 'swap', kind: 'swap_table' },
] as const;

const STEP_YAML: Record<(typeof ESTIMATED_STEPS)[number]['id'], string> = {
  fill: `backfill: { table: orders, set: "note = 'n' || id", where: "note IS NULL" }`,
  nn: 'not_null: { table: orders, column: amount }',
  chk: 'add_check: { table: orders, name: orders_amount_nonneg, expression: "amount >= 0" }',
  fk: 'add_foreign_key: { table: orders, columns: [customer_id], references: { table: customers, columns: [id] } }',
  idx: 'create_index: { table: orders, columns: [status] }',
  swap: 'swap_table: { table: orders, columns: [{ name: amount, type: "numeric(14,2)" }] }',
};

/**
 * The runbook: a backfill of every row, three VALIDATE scans, an index build, a swap_table copy
 * (or only the steps named in `only`, in that same order).
 */
export function estimatesRunbook(opts: { lockTimeoutSeconds: number; ddlRetries: number; only?: string[] }): string {
  const steps = ESTIMATED_STEPS.filter((s) => !opts.only || opts.only.includes(s.id));
  return `version: 1
name: plan estimates
settings:
  lock_timeout: ${opts.lockTimeoutSeconds}s
  ddl_retries: ${opts.ddlRetries}
phases:
  deploy:
${steps.map((s) => `    - id: ${s.id}\n      ${STEP_YAML[s.id]}\n`).join('')}`;
}

/** What the judge needs of a planned step: its kind, its estimate, and its statements with an estimate of their own. */
interface PlannedStep {
  kind: string;
  estimate?: { seconds: number; high: number };
  statements: { estimate?: unknown }[];
}

/**
 * The high end of a step's band without its lock-wait allowance (lock_timeout × (retries + 1) per
 * statement; a backfill is timed, not summed, so it has none): real time is judged on the work.
 */
export function workHigh(s: PlannedStep, opts: { lockTimeoutSeconds: number; ddlRetries: number }): number {
  if (!s.estimate) return Number.NaN;
  const waits =
    s.kind === 'backfill' ? 0 : s.statements.filter((st) => st.estimate).length * opts.lockTimeoutSeconds * (opts.ddlRetries + 1);
  return Math.max(s.estimate.seconds, s.estimate.high - waits);
}

/** Runs the deploy phase for real (every gate approved) and returns each step's measured seconds; throws unless it completed. `onEvent` sees every event (the bench counts the throttle's decisions). */
export async function runDeploy(runbook: Runbook, url: string, onEvent?: (e: RunEvent) => void): Promise<Map<string, number>> {
  const runner = newRunner({
    runbook,
    connection: resolveConnection(url),
    gates: new PolicyGates({ yes: true, allowIrreversible: true, user: 'plan-estimates' }),
    nonInteractive: true,
    phases: ['deploy'],
    journalDir: null,
  });
  const real = new Map<string, number>();
  runner.bus.on((e) => {
    onEvent?.(e);
    if (e.type === 'step.completed') real.set(e.stepId, e.durationMs / 1000);
  });
  const outcome = await runner.run();
  if (outcome.status !== 'completed') throw new Error(`the deploy ${outcome.status}: ${outcome.error?.message}`);
  return real;
}
