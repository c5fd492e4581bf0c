// The `unused` step against real servers: with pg_stat_statements preloaded it fails while another
// session still reads the column and passes once that stops; without it, it says so and falls back
// to pg_locks and pg_stat_user_tables.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { unusedKind, type UnusedParams } from '../../src/steps/unused.js';
import { makeStep, makeTestStepContext, type TestStepContext } from '../support/step-context.js';
import { majors, useTestDatabase } from '../support/pg.js';

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

async function runStep(url: string, params: UnusedParams): Promise<{ error?: string; evidence: any[] }> {
  ctx = await makeTestStepContext({ url, step: makeStep('unused', params) });
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
      expect(quiet.evidence).toEqual([expect.objectContaining({ value: 0, ok: true, label: expect.stringMatching(/pg_stat_statements/) })]);
      // The whole table is still in use by the other statement.
      const table = await runStep(server.url, { table: 'orders', quietMs: 1500 });
      expect(table.error).toMatch(/table orders is still in use/);
    } finally {
      if (!stopped) await app.stop();
      await other.stop();
    }
  }, 60_000);
});

describe('unused through views and functions', () => {
  let server: EmbeddedServer;
  beforeAll(async () => {
    server = await EmbeddedServer.start({ major: majors()[0], settings: { shared_preload_libraries: 'pg_stat_statements' } });
    const c = new pg.Client(server.url);
    await c.connect();
    await c.query('CREATE EXTENSION pg_stat_statements');
    await c.query('CREATE TABLE items (id int primary key, old_code text, note text)');
    await c.query("INSERT INTO items SELECT g, 'x' || g, 'n' FROM generate_series(1, 100) g");
    await c.query('CREATE VIEW item_codes AS SELECT id, old_code FROM items');
    await c.query('CREATE VIEW item_notes AS SELECT id, note FROM items');
    await c.query('CREATE FUNCTION code_of(i int) RETURNS text LANGUAGE sql AS $$ SELECT old_code FROM items WHERE id = i $$');
    await c.end();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('a read through a view that uses the column fails the check; one through a view that does not, passes', async () => {
    const app = appLoop(server.url, 'SELECT * FROM item_codes WHERE id = 7');
    const other = appLoop(server.url, 'SELECT * FROM item_notes WHERE id = 8');
    try {
      const busy = await runStep(server.url, { table: 'public.items', column: 'old_code', quietMs: 1500 });
      expect(busy.error).toMatch(/column old_code of public\.items is still in use: .*through view item_codes, function code_of/);
      expect(busy.error).toMatch(/SELECT \* FROM item_codes WHERE id = \$1/);
      expect(busy.evidence.every((e) => !/item_notes/.test(e.detail ?? ''))).toBe(true);
    } finally {
      await app.stop();
    }
    try {
      const fn = appLoop(server.url, 'SELECT code_of(3)');
      const viaFn = await runStep(server.url, { table: 'public.items', column: 'old_code', quietMs: 1500 });
      await fn.stop();
      expect(viaFn.error).toMatch(/SELECT code_of\(\$1\)/);
      const quiet = await runStep(server.url, { table: 'public.items', column: 'old_code', quietMs: 1500 });
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
