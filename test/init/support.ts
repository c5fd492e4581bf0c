// Shared by the init tests: a seeded starting schema, and "convert this SQL, then prove it".
import { loadParser } from '../../src/pg/sqlparse.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { buildRunbook, type BuildOptions, type BuildResult } from '../../src/init/build-runbook.js';
import { verifyRunbook, type VerifyResult } from '../../src/init/verify.js';
import type { Runbook } from '../../src/runbook/model.js';
import { newRunner, STEP_KINDS } from '../../src/cli/composition-root.js';

export const BASE = `
CREATE TABLE customers (id int PRIMARY KEY, tier text NOT NULL);
INSERT INTO customers SELECT g, 'gold' FROM generate_series(1, 50) g;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2), note varchar(20), created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO orders (customer_id, amount, note) SELECT g % 50 + 1, g, 'n' || g FROM generate_series(1, 3000) g;
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE TABLE events (id int, payload text);
INSERT INTO events SELECT g, 'p' || g FROM generate_series(1, 500) g;
CREATE TABLE legacy (id int PRIMARY KEY, v text);
ANALYZE;
`;

export async function convert(sql: string, opts: Partial<BuildOptions> = {}): Promise<BuildResult & { runbook: Runbook }> {
  await loadParser();
  const built = await buildRunbook({ from: '-', versionNum: 170000, kinds: STEP_KINDS, stdin: async () => sql, ...opts });
  const { runbook, problems } = await loadRunbookText(built.yaml, 'init.yaml', { kinds: STEP_KINDS });
  if (!runbook) throw new Error(problems.map((p) => p.message).join('\n'));
  return { ...built, runbook };
}

export async function prove(
  adminUrl: string,
  sql: string,
  base = BASE,
): Promise<{ built: BuildResult & { runbook: Runbook }; result: VerifyResult }> {
  const built = await convert(sql);
  const result = await verifyRunbook({ adminUrl, base: [base], naive: [sql], runbook: built.runbook, newRunner });
  return { built, result };
}

/** Deploy step kinds in order. */
export function kinds(rb: Runbook): string[] {
  return rb.phases.deploy.map((s) => s.kind);
}
