// The `unused` step against real servers: with pg_stat_statements preloaded it fails while another
// session still reads the column and passes once that stops; without it, it says so and falls back
// to pg_locks and pg_stat_user_tables.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { unusedKind, type UnusedParams } from '../../src/steps/unused.js';
import { makeRunbook, makeStep, makeTestStepContext, type TestStepContext } from '../support/step-context.js';
import { majors, useTestDatabase } from '../support/pg.js';
import { changeColumnKind } from '../../src/steps/change-column.js';
import { openFlagBackend } from '../../src/flags/open-flag-backend.js';

let ctx: TestStepContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

/** Runs `sql` from its own session every 100 ms until the returned stop() is called. */
function appLoop(url: string, sql: string): { stop: () => Promise<void> } {
  const client = new pg.Client(url);
  let running = true;
  const done = (async () => {
    await client.connect();
    while (running) {
      await client.query(sql);
      await new Promise((r) => setTimeout(r, 100));
    }
    await client.end();
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Runs the step in run `runId` (the run's state tables created as the runner creates them). */
async function runStep(url: string, params: UnusedParams, runId?: string, ownSql?: string): Promise<{ error?: string; evidence: any[] }> {
  await ctx?.close();
  const step = makeStep('unused', params);
  const runbook = ownSql ? makeRunbook([makeStep('sql', ownSql, { id: 'own_sql' }), step]) : undefined;
  ctx = await makeTestStepContext({ url, step, ...(runbook ? { runbook } : {}), ...(runId ? { runId } : {}) });
  await ctx.pool.query(`CREATE SCHEMA IF NOT EXISTS pgrunbook; ${unusedKind.stateSql}`);
  const error = await unusedKind.apply(ctx.step as any, ctx).then(
    () => undefined,
    (e: Error) => e.message,
  );
  const evidence = ctx.events.filter((e: any) => e.type === 'step.evidence').flatMap((e: any) => e.evidence);
  return { ...(error ? { error } : {}), evidence };
}

describe('unused with pg_stat_statements', () => {
  let server: EmbeddedServer;
  beforeAll(async () => {
    server = await EmbeddedServer.start({ major: majors()[0], settings: { shared_preload_libraries: 'pg_stat_statements' } });
    const c = new pg.Client(server.url);
    await c.connect();
    await c.query('CREATE EXTENSION pg_stat_statements');
    await c.query('CREATE TABLE orders (id int primary key, legacy_code text, note text)');
    await c.query("INSERT INTO orders SELECT g, 'x' || g, 'n' FROM generate_series(1, 100) g");
    await c.end();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('fails while an application query still reads the column, passes after it stops', async () => {
    const app = appLoop(server.url, 'SELECT legacy_code FROM orders WHERE id = 7');
    const other = appLoop(server.url, 'SELECT note FROM orders WHERE id = 8');
    let stopped = false;
    try {
      const busy = await runStep(server.url, { table: 'public.orders', column: 'legacy_code', quietMs: 1500 });
      expect(busy.error).toMatch(/column legacy_code of public\.orders is still in use: calls in the last 1\.5s/);
      expect(busy.error).toMatch(/SELECT legacy_code FROM orders WHERE id = \$1/);
      expect(busy.evidence.every((e) => !/note/.test(e.detail ?? ''))).toBe(true);
      await app.stop();
      stopped = true;
      // Only the statement that does not name the column keeps running.
      const quiet = await runStep(server.url, { table: 'public.orders', column: 'legacy_code', quietMs: 1500 });
      expect(quiet.error).toBeUndefined();
      expect(quiet.evidence).toEqual([
        expect.objectContaining({ label: 'baseline', value: 'quiet period only', detail: expect.stringMatching(/recorded no snapshot/) }),
        expect.objectContaining({ value: 0, ok: true, label: expect.stringMatching(/in 1\.5s \(pg_stat_statements\)/) }),
      ]);
      // The whole table is still in use by the other statement.
      const table = await runStep(server.url, { table: 'orders', quietMs: 1500 });
      expect(table.error).toMatch(/table orders is still in use/);
    } finally {
      if (!stopped) await app.stop();
      await other.stop();
    }
  }, 60_000);
});

describe.each(majors())('unused through views and functions, PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);
  beforeAll(async () => {
    await db.query('CREATE EXTENSION pg_stat_statements');
    await db.query('CREATE TABLE items (id int primary key, old_code text, note text)');
    await db.query("INSERT INTO items SELECT g, 'x' || g, 'n' FROM generate_series(1, 100) g");
    await db.query('CREATE VIEW item_codes AS SELECT id, old_code FROM items');
    await db.query('CREATE VIEW item_notes AS SELECT id, note FROM items');
    await db.query('CREATE FUNCTION code_of(i int) RETURNS text LANGUAGE sql AS $$ SELECT old_code FROM items WHERE id = i $$');
  });

  it('a read through a view that uses the column fails the check; one through a view that does not, passes', async () => {
    const app = appLoop(db.url, 'SELECT * FROM item_codes WHERE id = 7');
    const other = appLoop(db.url, 'SELECT * FROM item_notes WHERE id = 8');
    try {
      const busy = await runStep(db.url, { table: 'public.items', column: 'old_code', quietMs: 1500 });
      expect(busy.error).toMatch(/column old_code of public\.items is still in use: .*through view item_codes, function code_of/);
      expect(busy.error).toMatch(/SELECT \* FROM item_codes WHERE id = \$1/);
      expect(busy.evidence.every((e) => !/item_notes/.test(e.detail ?? ''))).toBe(true);
    } finally {
      await app.stop();
    }
    try {
      const fn = appLoop(db.url, 'SELECT code_of(3)');
      const viaFn = await runStep(db.url, { table: 'public.items', column: 'old_code', quietMs: 1500 });
      await fn.stop();
      expect(viaFn.error).toMatch(/SELECT code_of\(\$1\)/);
      const quiet = await runStep(db.url, { table: 'public.items', column: 'old_code', quietMs: 1500 });
      expect(quiet.error).toBeUndefined();
    } finally {
      await other.stop();
    }
  }, 60_000);
});

describe('unused without pg_stat_statements', () => {
  const db = useTestDatabase();

  it('says why and falls back to pg_locks and pg_stat_user_tables', async () => {
    await db.query('CREATE TABLE legacy (id int primary key, v text)');
    await db.query("INSERT INTO legacy SELECT g, 'v' FROM generate_series(1, 10) g");
    const idle = await runStep(db.url, { table: 'legacy', quietMs: 300 });
    expect(idle.error).toBeUndefined();
    expect(idle.evidence[0]).toMatchObject({ label: 'pg_stat_statements', value: 'not used' });
    // The suite's servers preload the library; this database never ran CREATE EXTENSION.
    expect(idle.evidence[0].detail).toMatch(
      /extension is not installed in this database .*; falling back to pg_locks and pg_stat_user_tables/,
    );

    const holder = new pg.Client(db.url);
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT count(*) FROM legacy');
      const locked = await runStep(db.url, { table: 'legacy', column: 'v', quietMs: 300 });
      expect(locked.error).toMatch(/column v of legacy is still in use: other sessions holding a lock on legacy now \(pg_locks\): 1/);
      expect(locked.evidence).toContainEqual(expect.objectContaining({ label: 'use of column v', value: 'not observable' }));
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  }, 60_000);
});

describe.each(majors())('unused since the expand step, PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);
  const changeColumn = changeColumnKind(openFlagBackend);
  let n = 0;
  beforeAll(async () => {
    await db.query(`CREATE EXTENSION pg_stat_statements; CREATE SCHEMA IF NOT EXISTS pgrunbook; ${changeColumn.stateSql}`);
  });

  /** A fresh table `t`, and the expand of a rename of its column `code` in run `runId`. */
  async function table(): Promise<{ t: string; runId: string; expand: () => Promise<void> }> {
    const t = `orders_${++n}`;
    const runId = `since-${major}-${n}`;
    await db.query(`CREATE TABLE ${t} (id int primary key, code text, note text)`);
    await db.query(`INSERT INTO ${t} SELECT g, 'c' || g, 'n' FROM generate_series(1, 50) g`);
    const expand = async () => {
      const c = await makeTestStepContext({
        url: db.url,
        runId,
        step: makeStep('change_column', { table: `public.${t}`, column: 'code', to: 'ref', stage: 'expand' }, { id: `expand_${t}` }),
      });
      try {
        await changeColumn.apply(c.step as any, c);
      } finally {
        await c.close();
      }
    };
    return { t, runId, expand };
  }

  async function readOnce(sql: string, times = 1): Promise<void> {
    const c = new pg.Client(db.url);
    await c.connect();
    for (let i = 0; i < times; i++) await c.query(sql, [i + 1]);
    await c.end();
  }

  it('a read after the expand step and before the quiet period fails the check and says which baseline caught it', async () => {
    const { t, runId, expand } = await table();
    await expand();
    await readOnce(`SELECT code FROM ${t} WHERE id = $1`, 3);
    const r = await runStep(db.url, { table: `public.${t}`, column: 'code', quietMs: 1000 }, runId);
    expect(r.error).toMatch(
      new RegExp(
        `column code of public\\.${t} is still in use: calls since the expand step expand_${t} at \\d\\d:\\d\\d UTC, none in the last 1s, of a statement using`,
      ),
    );
    expect(r.error).toMatch(new RegExp(`: 3 \\(SELECT code FROM ${t} WHERE id = \\$1\\)`));
    // Rerun (a resume): the step asks to accept the uses the failure listed (approved here, as --yes does); a new one still fails.
    const accepted = await unusedKind.apply(ctx!.step as any, ctx!);
    expect(accepted).toMatchObject({ ok: true, baseline: `expand_${t}` });
    await readOnce(`SELECT code FROM ${t} WHERE id = $1`);
    await expect(unusedKind.apply(ctx!.step as any, ctx!)).rejects.toThrow(/calls since the expand step .*: 1 /);
  }, 60_000);

  it('passes when nothing read the column since the expand step, even if something read it before', async () => {
    const { t, runId, expand } = await table();
    await readOnce(`SELECT code FROM ${t} WHERE id = $1`, 2);
    await expand();
    const r = await runStep(db.url, { table: `public.${t}`, column: 'code', quietMs: 1000 }, runId);
    expect(r.error).toBeUndefined();
    expect(r.evidence).toEqual([
      expect.objectContaining({
        value: 0,
        ok: true,
        label: expect.stringMatching(new RegExp(`since the expand step expand_${t} at \\d\\d:\\d\\d UTC and in the last 1s`)),
      }),
    ]);
  }, 60_000);

  it('an unused step with stage: baseline records the snapshot a later check of the same run compares with', async () => {
    const { t, runId } = await table();
    await readOnce(`SELECT note FROM ${t} WHERE id = $1`, 2);
    const base = await runStep(db.url, { table: `public.${t}`, quietMs: 1000, stage: 'baseline' }, runId);
    expect(base.evidence).toEqual([expect.objectContaining({ label: `use of table public.${t} recorded`, ok: true })]);
    const clean = await runStep(db.url, { table: `public.${t}`, quietMs: 1000 }, runId);
    expect(clean.error).toBeUndefined();
    await readOnce(`SELECT note FROM ${t} WHERE id = $1`);
    const used = await runStep(db.url, { table: `public.${t}`, quietMs: 1000 }, runId);
    expect(used.error).toMatch(/table public\.orders_\d+ is still in use: calls since the expand step .*: 1 /);
    // Another run has no snapshot: it watches the quiet period only, and says so.
    const other = await runStep(db.url, { table: `public.${t}`, quietMs: 1000 }, `${runId}-other`);
    expect(other.error).toBeUndefined();
    expect(other.evidence[0]).toMatchObject({ label: 'baseline', value: 'quiet period only' });
  }, 60_000);

  it("leaves out the runbook's own statements with constants, as pg_stat_statements keeps them ($1, $2)", async () => {
    const { t, runId } = await table();
    const own = `UPDATE ${t} SET note = 'z' WHERE id < 5`;
    await runStep(db.url, { table: `public.${t}`, quietMs: 1000, stage: 'baseline' }, runId, own);
    await db.query(own);
    const clean = await runStep(db.url, { table: `public.${t}`, quietMs: 1000 }, runId, own);
    expect(clean.error, JSON.stringify(clean.evidence)).toBeUndefined();
    await db.query(`UPDATE ${t} SET note = 'y' WHERE id > 45`);
    const used = await runStep(db.url, { table: `public.${t}`, quietMs: 1000 }, runId, own);
    expect(used.error).toMatch(
      /table public\.orders_\d+ is still in use: calls since the expand step .*: 1 \(UPDATE orders_\d+ SET note = \$1 WHERE id > \$2\)/,
    );
    // The application running the runbook's own statement shape (one pg_stat_statements entry) during
    // the quiet period is still a use.
    const app = appLoop(db.url, `UPDATE ${t} SET note = 'q' WHERE id < 7`);
    try {
      const sameShape = await runStep(db.url, { table: `public.${t}`, quietMs: 1000 }, runId, own);
      expect(sameShape.error).toMatch(
        /is still in use: calls in the last 1s of a statement using .*UPDATE orders_\d+ SET note = \$1 WHERE id < \$2/,
      );
    } finally {
      await app.stop();
    }
  }, 60_000);
});
