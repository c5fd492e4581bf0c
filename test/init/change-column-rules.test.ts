// The expand/contract rewrites of init (change_column for a rewriting type change and a column
// rename, a compatibility view for a table rename), proven like every rule: the naive statement and
// the generated runbook on two databases of a real server end in the same schema, and no runbook
// step rewrites a table. The type change needs the live catalog (which shows nothing else uses the
// column), so these runs convert with --db.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { LiveCatalog } from '../../src/analyze/live-catalog.js';
import { newRunner } from '../../src/cli/composition-root.js';
import { LEFT_OUT, runScripts, verifyRunbook } from '../../src/init/verify.js';
import { createDatabase, edgeMajors, serverUrl, testPool } from '../support/pg.js';
import { BASE, convert, kinds } from './support.js';

const STOCK = `${BASE}
CREATE TABLE stock (id bigserial PRIMARY KEY, qty int NOT NULL DEFAULT 0, label text);
INSERT INTO stock (qty, label) SELECT g, 's' || g FROM generate_series(1, 2000) g;
ANALYZE stock;
`;

async function convertLive(major: number, sql: string) {
  const db = await createDatabase(major, 'initcc');
  const pool = testPool(db.url, 2);
  try {
    await runScripts(db.url, [STOCK]);
    return await convert(sql, { db: { pool, catalog: new LiveCatalog(pool), versionNum: major * 10000 } });
  } finally {
    await pool.end();
    await db.drop();
  }
}

/** `renamed`: a table the runbook renames and replaces by a view; the trace tracks relfilenodes by name, so it shows up there. */
async function proveLive(major: number, sql: string, renamed?: string) {
  const built = await convertLive(major, sql);
  const result = await verifyRunbook({ adminUrl: serverUrl(major), base: [STOCK], naive: [sql], runbook: built.runbook, newRunner });
  expect(result.naiveError).toBeUndefined();
  expect(result.runbookError).toBeUndefined();
  expect({ onlyNaive: result.diff.removed, onlyRunbook: result.diff.added }).toEqual({ onlyNaive: [], onlyRunbook: [] });
  expect(result.same).toBe(true);
  for (const s of result.trace.steps) {
    const rewrites = s.rewrites.filter((w) => !(w.how === 'relfilenode' && w.relation === renamed));
    expect(rewrites, `${s.stepId} rewrote a table`).toEqual([]);
  }
  return { built, result };
}

describe('init expand/contract rules offline', () => {
  it('RENAME COLUMN without --db becomes change_column and says plan --db checks what uses the column', async () => {
    const built = await convert('ALTER TABLE stock RENAME COLUMN label TO title');
    expect(kinds(built.runbook)).toEqual(['change_column', 'manual', 'manual', 'unused', 'change_column']);
    expect(built.runbook.phases.deploy[0]!.why).toMatch(/pgrunbook plan --db.*REFUSED/);
    expect(built.runbook.phases.deploy[3]!.params).toEqual({ table: 'stock', column: 'label', quietMs: 60_000 });
    expect(built.runbook.phases.deploy[4]!.gate).toBe('type');
    expect(built.rows[0]).toMatchObject({ verdict: 'rewritten', kinds: ['change_column', 'manual', 'unused'] });
  });

  it('a rewriting type change without --db stays swap_table and says why', async () => {
    const built = await convert('ALTER TABLE stock ALTER COLUMN qty TYPE bigint');
    expect(kinds(built.runbook)).toEqual(['swap_table', 'swap_table']);
    expect(built.runbook.phases.deploy[0]!.why).toMatch(/Without --db pgrunbook cannot see what uses qty/);
  });
});

for (const major of edgeMajors()) {
  describe(`init expand/contract rules on PostgreSQL ${major}`, () => {
    it('ALTER COLUMN TYPE int → bigint on a column nothing else uses → change_column, same end schema', async () => {
      const { built, result } = await proveLive(major, 'ALTER TABLE stock ALTER COLUMN qty TYPE bigint');
      expect(kinds(built.runbook)).toEqual(['change_column', 'manual', 'change_column']);
      expect(built.rows[0]).toMatchObject({ verdict: 'rewritten', kinds: ['change_column', 'manual'] });
      expect(result.trace.steps.map((s) => s.kind)).toEqual(['change_column', 'manual', 'change_column']);
    });

    it('ALTER COLUMN TYPE … USING keeps the conversion', async () => {
      const { built } = await proveLive(major, "ALTER TABLE stock ALTER COLUMN label TYPE int USING nullif(substr(label, 2), '')::int");
      expect(built.runbook.phases.deploy[0]!.params).toMatchObject({ type: 'int', using: "nullif(substr(label, 2), '')::int" });
    });

    it('RENAME COLUMN → change_column switching reads behind its flag, the application steps as manual steps, same end schema', async () => {
      const { built, result } = await proveLive(major, 'ALTER TABLE stock RENAME COLUMN label TO title');
      expect(kinds(built.runbook)).toEqual(['change_column', 'manual', 'manual', 'unused', 'change_column']);
      expect(built.runbook.phases.deploy[0]!.params).toMatchObject({
        flag: { backend: 'postgres', key: 'read_stock_title', table: 'pgrunbook.feature_flags' },
      });
      expect(built.runbook.phases.deploy[4]!.params).not.toHaveProperty('flag');
      // The flag was really set in the runbook's database, and the comparison (equal above) left its table out.
      const said = result.events.filter((e) => e.type === 'step.log').map((e) => (e as { message: string }).message);
      expect(said).toContain('reads switched to title: flag read_stock_title in table pgrunbook.feature_flags is 100 (was not set)');
      expect(LEFT_OUT).toMatch(/pgrunbook\.feature_flags/);
    });

    it('RENAME TABLE → rename plus a view under the old name, dropped in the contract; same end schema', async () => {
      const { built } = await proveLive(major, 'ALTER TABLE legacy RENAME TO archive', 'legacy');
      expect(kinds(built.runbook)).toEqual(['sql', 'manual', 'sql']);
      expect(built.runbook.phases.deploy[0]!.params).toMatch(/CREATE VIEW legacy AS SELECT \* FROM archive/);
      // While both names exist, the old version writes through the view into the renamed table.
      const db = await createDatabase(major, 'initview');
      try {
        await runScripts(db.url, [STOCK, built.runbook.phases.deploy[0]!.params as string]);
        await runScripts(db.url, ["INSERT INTO legacy (id, v) VALUES (9001, 'old'); UPDATE legacy SET v = 'upd' WHERE id = 9001"]);
        const c = new pg.Client(db.url);
        await c.connect();
        expect((await c.query(`SELECT v FROM archive WHERE id = 9001`)).rows).toEqual([{ v: 'upd' }]);
        await c.end();
      } finally {
        await db.drop();
      }
    });

    it('with the live catalog, a type change of an indexed column stays swap_table and names the index', async () => {
      const built = await convertLive(major, 'ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint');
      expect(kinds(built.runbook)).toEqual(['swap_table', 'swap_table']);
      expect(built.runbook.phases.deploy[0]!.why).toMatch(/Not change_column: index orders_customer_idx uses customer_id/);
    });

    it('with the live catalog, a rename of an indexed column is held behind a type gate with the reason', async () => {
      const built = await convertLive(major, 'ALTER TABLE orders RENAME COLUMN customer_id TO client_id');
      expect(kinds(built.runbook)).toEqual(['sql']);
      const step = built.runbook.phases.deploy[0]!;
      expect(step.gate).toBe('type');
      expect(step.why).toMatch(/index orders_customer_idx uses customer_id/);
      expect(built.rows[0]!.verdict).toBe('held');
    });
  });
}
