// buildPlan against a real database with real runbook files: table facts without count(*), the
// analysis of each step's SQL across steps, gates and reversibility, duration estimates with a
// band (a real backfill batch, rolled back), warnings with the safe pattern, and no writes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/analyze/plan/build.js';
import { loadRunbookFile } from '../../src/runbook/load.js';
import type { Runbook } from '../../src/runbook/model.js';
import { plainRoleSql, poolAsRole, useTestDatabase } from '../support/pg.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-plan-'));

async function runbookFrom(path: string, vars?: Record<string, string>): Promise<Runbook> {
  const r = await loadRunbookFile(path, { kinds: STEP_KINDS, vars });
  const errors = r.problems.filter((p) => p.severity === 'error');
  expect(errors, errors.map((e) => e.message).join('\n')).toEqual([]);
  return r.runbook!;
}

function writeRunbook(name: string, yaml: string): string {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return p;
}

const SETUP = `
CREATE TABLE customers (id int PRIMARY KEY);
INSERT INTO customers SELECT generate_series(1, 100);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers(id), amount numeric(12,2), status text, created_at timestamptz DEFAULT now());
INSERT INTO orders SELECT g, 1 + g % 100, g % 500, 'new', now() FROM generate_series(1, 20000) g;
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE VIEW big_orders AS SELECT id FROM orders WHERE amount > 100;
`;

async function snapshot(db: { query: (sql: string) => Promise<any[]> }) {
  const [r] = await db.query(`
    SELECT pg_relation_filenode('orders') AS filenode,
           (SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attnum > 0 AND NOT attisdropped)::int AS columns,
           (SELECT count(*) FROM pg_index WHERE indrelid = 'orders'::regclass)::int AS indexes,
           (SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass)::int AS constraints,
           (SELECT sum(amount) FROM orders)::text AS amounts,
           to_regnamespace('pgrunbook') IS NOT NULL AS state_schema`);
  return r;
}

describe('buildPlan', () => {
  const db = useTestDatabase();

  it('plans the shipped add-column-backfill runbook without changing anything', async () => {
    await db.query(SETUP);
    await db.query('ANALYZE');
    const before = await snapshot(db);
    const runbook = await runbookFrom('runbooks/add-column-backfill.yaml', { table: 'orders', column: 'amount_cents' });
    const plan = await buildPlan({
      kinds: STEP_KINDS,
      runbook,
      pool: db.pool,
      target: { database: db.name, host: 'test', user: 'postgres' },
    });
    expect(await snapshot(db)).toEqual(before);

    expect(Math.floor(plan.server.versionNum / 10000)).toBe(db.major);
    const orders = plan.tables.find((t) => t.name === 'orders')!;
    expect(orders.estimatedRows).toBe(20000);
    expect(orders.avgRowWidth).toBeGreaterThan(10);
    expect(orders.indexes.map((i) => i.name).sort()).toEqual(['orders_customer_idx', 'orders_pkey']);
    expect(orders.foreignKeysOut.map((f) => f.references)).toEqual(['customers']);
    expect(orders.dependentViews.map((v) => v.name)).toEqual(['big_orders']);
    expect(orders.touchedBy).toEqual(expect.arrayContaining(['add_column', 'backfill', 'not_null', 'create_index']));
    expect(plan.tables.some((t) => t.systemCatalog)).toBe(false);

    const step = (id: string) => plan.steps.find((s) => s.id === id)!;
    const add = step('add_column');
    expect(add.error).toBeUndefined();
    expect(add.statements[0]!.analysis).toMatchObject({ rewrite: false, tableScan: false });
    expect(add.locks).toEqual(expect.arrayContaining([expect.objectContaining({ mode: 'AccessExclusiveLock' })]));
    expect(add.gate).not.toBe('none');

    // The not_null step: the validated CHECK added earlier in the same step spares SET NOT NULL its scan.
    const nn = step('not_null');
    const verdicts = nn.statements
      .filter((s) => s.analysis)
      .map((s) => [s.analysis!.locks.find((l) => l.relkind !== 'index')?.mode, s.analysis!.tableScan]);
    expect(verdicts).toContainEqual(['ShareUpdateExclusiveLock', true]);
    expect(verdicts.filter(([mode]) => mode === 'AccessExclusiveLock').every(([, scan]) => scan === false)).toBe(true);

    const idx = step('create_index');
    expect(idx.statements[0]!.transactional).toBe(false);
    expect(idx.statements[0]!.analysis!.locks[0]!.mode).toBe('ShareUpdateExclusiveLock');
    expect(idx.estimate!.seconds).toBeGreaterThan(0);
    expect(plan.readRates.orders).toBeGreaterThan(0);

    // The backfill: the column does not exist yet, so stand-in batches were timed (and rolled back).
    const bf = step('backfill');
    expect(bf.estimate, bf.notes.join('\n')).toBeDefined();
    expect(bf.estimate!.basis).toMatch(
      /^6 timed stand-in batches \(rolled back, at random key ranges\): .*the column does not exist yet, so the samples rewrote \w+ in place/,
    );
    expect(bf.estimate!.low).toBeLessThanOrEqual(bf.estimate!.seconds);
    expect(bf.estimate!.high).toBeGreaterThanOrEqual(bf.estimate!.seconds);
    expect(bf.estimate!.basis).toMatch(/~20,000 keys take ~[\d,]+ batches/);

    expect(plan.deployEstimate!.seconds).toBeGreaterThan(0);
    expect(plan.steps.find((s) => s.phase === 'plan')).toBeDefined();
    expect(plan.steps.find((s) => s.phase === 'rollback')).toBeDefined();
  });

  it('times real batches when the column exists, and rolls them back', async () => {
    await db.query('ALTER TABLE orders ADD COLUMN IF NOT EXISTS amount_cents bigint');
    const path = writeRunbook(
      'backfill.yaml',
      `version: 1
name: backfill only
phases:
  deploy:
    - id: fill
      rollback: "SELECT 1"
      backfill:
        table: orders
        set: "amount_cents = (amount * 100)::bigint"
        where: "amount_cents IS NULL"
`,
    );
    const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool });
    const fill = plan.steps[0]!;
    expect(fill.estimate!.basis).toMatch(/^6 timed UPDATE batches \(rolled back, at random key ranges\): /);
    expect(await db.query('SELECT count(*)::int AS n FROM orders WHERE amount_cents IS NOT NULL')).toEqual([{ n: 0 }]);
    const off = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool, timeBatches: false });
    expect(off.steps[0]!.estimate).toBeUndefined();
    expect(off.steps[0]!.notes.join(' ')).toMatch(/batch timing is off/);
  });

  it('halves the low end of a backfill band when a second worker may run, and says so', async () => {
    await db.query('ALTER TABLE orders ADD COLUMN IF NOT EXISTS amount_cents bigint');
    const step = (id: string, workers: number) => `    - id: ${id}
      backfill:
        table: orders
        set: "amount_cents = (amount * 100)::bigint"
        workers: ${workers}
`;
    const path = writeRunbook('two-workers.yaml', `version: 1\nname: workers\nphases:\n  deploy:\n${step('two', 2)}${step('one', 1)}`);
    const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool });
    const [two, one] = plan.steps.map((s) => s.estimate!);
    expect(two!.basis).toMatch(
      /; timed as one worker: workers: 2 can run a second on the other half of the keys, so the band's low end is halved/,
    );
    expect(two!.low).toBeLessThanOrEqual(two!.seconds / 2);
    expect(one!.basis).not.toMatch(/second on the other half/);
    expect(one!.low).toBeGreaterThan(0);
  });

  it('warns with the safe pattern, and about the server right now', async () => {
    await db.query(`CREATE INDEX CONCURRENTLY orders_status_uidx ON orders (id, status)`);
    await db.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'orders_status_uidx'::regclass`);
    const path = writeRunbook(
      'risky.yaml',
      `version: 1
name: risky sql
phases:
  deploy:
    - id: not_null_the_hard_way
      sql: "ALTER TABLE orders ALTER COLUMN status SET NOT NULL"
    - id: plain_index
      sql: "CREATE INDEX orders_created_idx ON orders (created_at)"
    - id: retype
      sql: "ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint"
`,
    );
    const c = new pg.Client({ connectionString: db.url, application_name: 'long-tx' });
    await c.connect();
    try {
      await c.query('BEGIN; SELECT txid_current()');
      await new Promise((r) => setTimeout(r, 1100));
      const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool, longTxSeconds: 1 });
      const w = (id: string) => plan.steps.find((s) => s.id === id)!.warnings;
      expect(w('not_null_the_hard_way')).toContainEqual(
        expect.objectContaining({ rule: 'set-not-null-scan', safe: expect.stringMatching(/not_null/) }),
      );
      expect(w('not_null_the_hard_way')[0]!.message).toMatch(/20k rows/);
      expect(w('plain_index')).toContainEqual(
        expect.objectContaining({ rule: 'create-index-blocks-writes', safe: expect.stringMatching(/CONCURRENTLY/) }),
      );
      expect(w('retype')).toContainEqual(expect.objectContaining({ rule: 'alter-column-type-rewrite' }));
      const retype = plan.steps.find((s) => s.id === 'retype')!;
      expect(retype.irreversibleReason).toMatch(/no rollback/);
      expect(retype.gate).toBe('type');
      expect(retype.statements[0]!.estimate!.basis).toMatch(/orders: .* at .*\/s read/);
      expect(plan.warnings.map((x) => x.message).join('\n')).toMatch(/open for more than a minute/);
      expect(plan.warnings.map((x) => x.message).join('\n')).toMatch(/orders_status_uidx on orders is INVALID/);
    } finally {
      await c.query('ROLLBACK');
      await c.end();
      await db.query('DROP INDEX orders_status_uidx');
    }
  });

  it('sizes a swap_table copy (and its verify and FK validation) instead of calling it instant, and lists every relation it locks', async () => {
    const runbook = await runbookFrom('runbooks/swap-table.yaml', { table: 'customers', column: 'id', type: 'bigint' });
    const plan = await buildPlan({ kinds: STEP_KINDS, runbook, pool: db.pool, phases: ['deploy'] });
    const swap = plan.steps.find((s) => s.kind === 'swap_table')!;
    expect(swap.error).toBeUndefined();
    expect(swap.work!.map((w) => [w.work, w.description, !!w.estimate])).toEqual([
      ['copy', 'copy every row into customers_new and build its indexes', true],
      ['checksum', 'verify: count and checksum of customers', true],
      ['checksum', 'verify: count and checksum of customers_new', true],
      ['scan', 'VALIDATE the re-pointed foreign key orders_customer_id_fkey', true],
    ]);
    expect(swap.estimate!.seconds).toBeGreaterThan(0);
    // 100 rows: a batch whose random start leaves too few keys after it starts at the table's start
    // instead, and then the basis does not claim random ranges.
    expect(swap.estimate!.basis, swap.notes.join('\n')).toMatch(
      /^copy every row into customers_new and build its indexes: ~.* \(\d+ timed copy batch(es)? \(rolled back(, at random key ranges)?\): /,
    );
    expect(plan.deployEstimate!.seconds).toBeGreaterThan(0);
    expect(swap.locks.map((l) => l.relation)).toContain('"public"."orders"');
    // The kind's own rename and shadow type change are not lint-warned: the operator did not write them.
    expect(swap.warnings.map((w) => w.message)).toEqual([]);
    // The same statements written by the operator in a sql step are.
    const path = writeRunbook(
      'own-swap.yaml',
      `version: 1
name: hand-written swap
phases:
  deploy:
    - id: by_hand
      sql: |
        ALTER TABLE customers_copy ALTER COLUMN id TYPE bigint;
        ALTER TABLE customers RENAME TO customers_old;
`,
    );
    await db.query('CREATE TABLE IF NOT EXISTS customers_copy (id int PRIMARY KEY)');
    const own = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool, phases: ['deploy'] });
    const messages = own.steps[0]!.warnings.map((w) => w.message).join('\n');
    expect(messages).toMatch(/ALTER COLUMN id TYPE rewrites/);
    expect(messages).toMatch(/Renaming customers to customers_old breaks every running query/);
  });

  it('reports a step whose plan fails instead of failing the whole plan', async () => {
    const path = writeRunbook(
      'missing.yaml',
      `version: 1
name: missing table
phases:
  deploy:
    - id: fill
      backfill:
        table: no_such_table
        set: "x = 1"
`,
    );
    const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool });
    expect(plan.steps[0]!.error).toMatch(/no_such_table does not exist/);
    expect(plan.steps[0]!.warnings[0]!.severity).toBe('error');
  });

  it('fails a step whose table does not exist, naming the closest one, unless an earlier step creates it', async () => {
    const path = writeRunbook(
      'typo.yaml',
      `version: 1
name: typo
phases:
  deploy:
    - id: make
      sql: "CREATE TABLE IF NOT EXISTS public.fresh (id int PRIMARY KEY, v int)"
    - id: idx
      create_index: { table: fresh, columns: [v] }
    - id: swap
      swap_table: { table: custmers, columns: [{ name: id, type: bigint }] }
    - id: add
      add_column: { table: custmers, column: c, type: int }
`,
    );
    const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool });
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    expect(byId.get('idx')!.error).toBeUndefined();
    expect(byId.get('idx')!.notes).toContain('the table is created by an earlier step: this step was planned without it');
    for (const id of ['swap', 'add'])
      expect(byId.get(id)!.error).toBe(`table custmers does not exist in database ${db.name}; the closest existing table is customers`);
  });

  it('says why a statement has no duration estimate: an empty table, or reads not measured on this plan', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS hollow (id int PRIMARY KEY, v int)');
    const path = writeRunbook(
      'unmeasured.yaml',
      `version: 1
name: unmeasured
phases:
  deploy:
    - id: hollow_idx
      sql: "CREATE INDEX hollow_v_idx ON hollow (v)"
`,
    );
    const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool });
    const notes = plan.steps[0]!.notes.join('\n');
    expect(plan.steps[0]!.statements[0]!.estimate).toBeUndefined();
    expect(notes).toMatch(/no duration estimate for CREATE INDEX hollow_v_idx.*: \S*hollow is empty \(0 bytes\)/);
    expect(notes).not.toMatch(/needs SELECT/);

    await db.query('INSERT INTO hollow SELECT g, g FROM generate_series(1, 1000) g');
    const off = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool: db.pool, measureReads: false });
    const offNotes = off.steps[0]!.notes.join('\n');
    expect(offNotes).toMatch(/no duration estimate for CREATE INDEX hollow_v_idx.*: read rates were not measured on this plan/);
    expect(offNotes).not.toMatch(/needs SELECT/);
  });

  it('says what the server answered when the table could not be read, and what to grant', async () => {
    const role = `no_select_${process.pid}`;
    await db.query(`CREATE TABLE IF NOT EXISTS guarded (id int PRIMARY KEY, v int);
      INSERT INTO guarded SELECT g, g FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;
      ${plainRoleSql(role)}`);
    const pool = poolAsRole(db.url, role);
    try {
      const path = writeRunbook(
        'guarded.yaml',
        `version: 1\nname: guarded\nphases:\n  deploy:\n    - id: idx\n      sql: "CREATE INDEX guarded_v_idx ON guarded (v)"\n`,
      );
      const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFrom(path), pool });
      const notes = plan.steps[0]!.notes.join('\n');
      expect(plan.steps[0]!.statements[0]!.estimate).toBeUndefined();
      expect(notes).toMatch(
        /no duration estimate for CREATE INDEX guarded_v_idx.*: \S*guarded could not be read: permission denied for table guarded: grant the planning role SELECT on it/,
      );
    } finally {
      await pool.end();
      await db.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});

describe('planEvidence', () => {
  it('condenses a plan into gate evidence', async () => {
    const { planEvidence } = await import('../../src/analyze/plan/evidence.js');
    const plan = {
      steps: [
        {
          phase: 'deploy',
          id: 'a',
          reversible: false,
          locks: [{ relation: 't', mode: 'AccessExclusiveLock' }],
          warnings: [{ severity: 'warning', message: 'w' }],
        },
        { phase: 'plan', id: 'b', reversible: true, locks: [], warnings: [] },
      ],
      warnings: [],
      server: { longTransactions: [], inRecovery: false },
      deployEstimate: { seconds: 2, low: 1, high: 5, basis: 'x' },
    } as any;
    const ev = new Map(planEvidence(plan).map((e) => [e.label, e]));
    expect(ev.get('deploy steps')!.value).toBe(1);
    expect(ev.get('strongest lock')!.value).toBe('AccessExclusiveLock');
    expect(ev.get('irreversible deploy steps')!.value).toBe('a');
    expect(ev.get('plan warnings')!.value).toBe(1);
    expect(ev.get('estimated deploy time')!.value).toMatch(/~2\.0 s/);
    expect(ev.get('transactions open > 1 min')!.ok).toBe(true);
  });
});
