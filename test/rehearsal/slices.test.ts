// Sampling by keyset slices (clone.ts + slices.ts) on real PostgreSQL: whole key groups of a
// repeated index key keep the source's rows per key; primary-key slices are contiguous runs spread
// over the table; composite keys slice; tables without a key, or with a key unfit for groups, fall
// back; FKs hold and the source is not written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { cloneSample, type CloneResult } from '../../src/rehearsal/clone.js';
import { readIndexShapes } from '../../src/rehearsal/index-shape.js';
import { sliceCount } from '../../src/rehearsal/slices.js';
import { sourceFingerprint, useSourceDatabase } from './support.js';
import { withDatabase } from '../support/pg.js';

const ORDERS = 40_000;
const CUSTOMERS = 2_000;

describe('sampling by keyset slices', () => {
  const src = useSourceDatabase(async (q) => {
    await q(`
      create table customers (id bigserial primary key, name text not null);
      insert into customers (name) select 'c' || g from generate_series(1, ${CUSTOMERS}) g;
      create table orders (id bigserial primary key, customer_id bigint not null references customers(id),
                           status text not null, amount numeric(10,2) not null);
      insert into orders (customer_id, status, amount)
        select 1 + (g % ${CUSTOMERS}), (array['new','paid','shipped'])[1 + g % 3], (g % 10000) / 100.0 from generate_series(1, ${ORDERS}) g;
      create index orders_customer_idx on orders (customer_id);
      create index orders_status_idx on orders (status);
      create table line_items (order_id bigint not null, line int not null, qty int not null, primary key (order_id, line));
      insert into line_items select g, l, 1 from generate_series(1, 20000) g, generate_series(1, 2) l;
      create table events_log (at timestamptz not null default now(), body text);
      insert into events_log (body) select 'e' || g from generate_series(1, 30000) g;
      create table tickets (id bigserial primary key, assignee int);
      insert into tickets (assignee) select case when g % 5 = 0 then null else g % 100 end from generate_series(1, 30000) g;
      create index tickets_assignee_idx on tickets (assignee);
      analyze;`);
  });

  const admin = { client: undefined as pg.Client | undefined };
  const created: string[] = [];
  beforeAll(async () => {
    admin.client = new pg.Client(src.adminUrl);
    await admin.client.connect();
  });
  afterAll(async () => {
    for (const d of created) await admin.client!.query(`drop database if exists ${d} with (force)`);
    await admin.client?.end();
  });

  /** Clones into a fresh database; returns the result and a client on the sample. */
  async function clone(
    tableNames: string[],
    opts: Partial<Parameters<typeof cloneSample>[0]> = {},
  ): Promise<{ r: CloneResult; sb: pg.Client }> {
    const name = `${src.name}_s${created.length}`;
    await admin.client!.query(`create database ${name}`);
    created.push(name);
    const url = withDatabase(src.adminUrl, name);
    const r = await cloneSample({ sourceUrl: src.url, sandboxUrl: url, sourceMajor: src.major, tableNames, samplePct: 10, ...opts });
    const sb = new pg.Client(url);
    await sb.connect();
    return { r, sb };
  }

  it('keeps whole key groups of the repeated index key: the source’s rows per key, spread over the key range, FKs holding', async () => {
    const before = await sourceFingerprint(src.query);
    const { r, sb } = await clone(['orders'], { sliceRows: 1000 });
    try {
      const orders = r.tables.find((t) => t.table === 'orders')!;
      // customer_id (20 rows per key) rather than status (13k per key: a group would not fit a slice).
      expect(orders.method).toBe('key-groups');
      expect(orders.slices).toMatchObject({ index: 'orders_customer_idx', count: 4 });
      expect(orders.slices!.rowsPerKey).toBeGreaterThan(15);
      expect(orders.sampleRows).toBeGreaterThan(0.08 * ORDERS);
      expect(orders.sampleRows).toBeLessThan(0.13 * ORDERS);

      // Every sampled customer has all of its orders.
      const onSource = new Map(
        (await src.query<{ k: string; n: number }>(`select customer_id::text k, count(*)::int n from orders group by 1`)).map((x) => [
          x.k,
          x.n,
        ]),
      );
      const inSample = (
        await sb.query<{ k: string; n: number }>(
          `select customer_id::text k, count(*)::int n from orders group by customer_id order by customer_id`,
        )
      ).rows;
      expect(inSample.length).toBeGreaterThan(100);
      for (const x of inSample) expect(x.n).toBe(onSource.get(x.k));

      // The planner's view agrees: rows per key of the index within 20% of the source's.
      const source = new pg.Client(src.url);
      await source.connect();
      const perKey = async (db: pg.Client) =>
        (await readIndexShapes(db, ['public.orders'])).find((i) => i.index === 'orders_customer_idx')!.rowsPerKey!;
      const ratio = (await perKey(sb)) / (await perKey(source).finally(() => source.end()));
      expect(ratio).toBeGreaterThan(0.8);
      expect(ratio).toBeLessThan(1.25);

      // Four runs of neighbouring customers, one in each quarter of the key range.
      const keys = inSample.map((x) => Number(x.k));
      const runs: number[][] = [];
      for (const k of keys) {
        const run = runs[runs.length - 1];
        if (run && k === run[run.length - 1]! + 1) run.push(k);
        else runs.push([k]);
      }
      expect(runs).toHaveLength(4);
      runs.forEach((run, i) => {
        expect(run[0]!).toBeGreaterThanOrEqual((i * CUSTOMERS) / 4);
        expect(run[run.length - 1]!).toBeLessThanOrEqual(((i + 1) * CUSTOMERS) / 4 + 1);
      });

      // The referenced customers came along and the FK is validated on the sample.
      expect(r.tables.find((t) => t.table === 'customers')!.sampleRows).toBe(inSample.length);
      const fk = await sb.query(`select convalidated from pg_constraint where conname = 'orders_customer_id_fkey'`);
      expect(fk.rows[0].convalidated).toBe(true);
    } finally {
      await sb.end();
    }
    expect(await sourceFingerprint(src.query)).toEqual(before);
  });

  it('--sample-method slices: contiguous runs of the primary key, one in each stripe of the table', async () => {
    const { r, sb } = await clone(['orders'], { sampleMethod: 'slices', sliceRows: 1000 });
    try {
      const orders = r.tables.find((t) => t.table === 'orders')!;
      expect(orders.method).toBe('slices');
      expect(orders.slices).toMatchObject({ index: 'orders_pkey', count: 4 });
      const ids = (await sb.query<{ id: number }>(`select id::int from orders order by id`)).rows.map((x) => x.id);
      expect(ids).toHaveLength(4000);
      const runs: number[][] = [];
      for (const id of ids) {
        const run = runs[runs.length - 1];
        if (run && id === run[run.length - 1]! + 1) run.push(id);
        else runs.push([id]);
      }
      expect(runs.map((x) => x.length)).toEqual([1000, 1000, 1000, 1000]);
      runs.forEach((run, i) => {
        expect(run[0]!).toBeGreaterThan((i * ORDERS) / 4);
        expect(run[run.length - 1]!).toBeLessThanOrEqual(((i + 1) * ORDERS) / 4);
      });
      const orphans = await sb.query(
        `select count(*)::int n from orders o where not exists (select 1 from customers c where c.id = o.customer_id)`,
      );
      expect(orphans.rows[0].n).toBe(0);
    } finally {
      await sb.end();
    }
  });

  it('slices a composite primary key, falls back to TABLESAMPLE without a key, and skips key groups of a key that is often NULL', async () => {
    const { r, sb } = await clone(['line_items', 'events_log', 'tickets'], { sliceRows: 1000 });
    try {
      const t = (name: string) => r.tables.find((x) => x.table === name)!;
      expect(t('line_items').method).toBe('slices');
      expect(t('line_items').slices?.index).toBe('line_items_pkey');
      expect(t('line_items').sampleRows).toBe(4000);
      // Runs of whole orders: at most the first and last line of a run lack their other line.
      const halves = await sb.query(`select count(*)::int n from (select order_id from line_items group by 1 having count(*) = 1) x`);
      expect(halves.rows[0].n).toBeLessThanOrEqual(2 * t('line_items').slices!.count);
      expect(['system', 'bernoulli']).toContain(t('events_log').method);
      expect(t('events_log').sampleRows).toBeGreaterThan(2000);
      // tickets.assignee is NULL in a fifth of the rows: key groups would never sample those.
      expect(t('tickets').method).toBe('slices');
      expect(t('tickets').slices?.index).toBe('tickets_pkey');
    } finally {
      await sb.end();
    }
  });

  it('--sample-method tablesample keeps the block or row sample', async () => {
    const { r, sb } = await clone(['orders'], { sampleMethod: 'tablesample' });
    await sb.end();
    expect(['system', 'bernoulli']).toContain(r.tables.find((t) => t.table === 'orders')!.method);
  });

  it('sizes slices to several batches, and never smaller than a few key groups', () => {
    expect(sliceCount(10_000)).toBe(1);
    expect(sliceCount(100_000)).toBe(4);
    expect(sliceCount(100_000_000)).toBe(100);
    expect(sliceCount(100_000, 10_000)).toBe(2); // groups of 10k rows: 4 per slice at most 2 slices
    expect(sliceCount(100, 1000)).toBe(1);
  });
});
