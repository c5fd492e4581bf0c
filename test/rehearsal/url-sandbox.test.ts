// A staging database as the sandbox (--sandbox postgres://...): the rehearsal runs there for real,
// and on close removes what it created (the sample, pgrunbook's state schema, the lock capture's
// schema and event triggers) and nothing that was there before; the database itself stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { rehearse } from '../../src/cli/composition-root.js';
import { dropNewObjects, takeInventory } from '../../src/rehearsal/sandbox/inventory.js';
import { loadOrThrow } from '../support/runbook.js';
import { edgeMajors, serverUrl, withDatabase } from '../support/pg.js';
import { seedOrders, sourceFingerprint, useSourceDatabase } from './support.js';

const SHIPPED = fileURLToPath(new URL('../../runbooks/add-column-backfill.yaml', import.meta.url));

describe('rehearse on a staging database (URL sandbox)', () => {
  const src = useSourceDatabase((q) => seedOrders(q, 20_000));
  const created: { admin: string; name: string }[] = [];

  afterAll(async () => {
    for (const d of created) await adminQuery(d.admin, `drop database if exists ${d.name} with (force)`);
  });

  async function adminQuery(adminUrl: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    const c = new pg.Client(adminUrl);
    await c.connect();
    try {
      return await c.query(sql, params);
    } finally {
      await c.end();
    }
  }

  /** A staging database (by default on the source's server: another database is allowed, with a warning), holding things of its own. */
  async function staging(extra = '', adminUrl = src.adminUrl): Promise<{ url: string; name: string; admin: string; client: pg.Client }> {
    const name = `${src.name}_stage${created.length}`;
    await adminQuery(adminUrl, `create database ${name}`);
    created.push({ admin: adminUrl, name });
    const url = withDatabase(adminUrl, name);
    const client = new pg.Client(url);
    await client.connect();
    await client.query(`
      create schema app_keep;
      create table app_keep.settings (k text primary key, v text);
      insert into app_keep.settings values ('mode', 'staging');
      create function app_keep.answer() returns int language sql as 'select 42';
      create table public.keep_me (id int primary key, note text);
      insert into public.keep_me select g, 'n' || g from generate_series(1, 3) g;
      create view public.keep_view as select id from public.keep_me;
      create type public.mood as enum ('ok', 'meh');
      ${extra}`);
    return { url, name, admin: adminUrl, client };
  }

  async function stillThere(c: pg.Client): Promise<void> {
    expect((await c.query(`select count(*)::int n from public.keep_me`)).rows[0].n).toBe(3);
    expect((await c.query(`select app_keep.answer() a`)).rows[0].a).toBe(42);
    expect((await c.query(`select v from app_keep.settings where k = 'mode'`)).rows[0].v).toBe('staging');
    expect((await c.query(`select count(*)::int n from public.keep_view`)).rows[0].n).toBe(3);
    expect((await c.query(`select enum_range(null::public.mood)::text r`)).rows[0].r).toBe('{ok,meh}');
  }

  // On the source's server, and on each of the suite's edge servers that is another server.
  const targets = () =>
    [
      { label: 'on the source’s server', admin: src.adminUrl },
      ...edgeMajors().map((m) => ({ label: `on the PostgreSQL ${m} server`, admin: serverUrl(m) })),
    ].filter((t, i, all) => all.findIndex((x) => x.admin === t.admin) === i);

  it('copies the sample there, rehearses, then removes everything it created and nothing else; the database stays', async () => {
    for (const target of targets()) await rehearseOnStaging(target.admin, target.label);
  });

  async function rehearseOnStaging(adminUrl: string, label: string): Promise<void> {
    const sb = await staging('', adminUrl);
    try {
      const before = await takeInventory(sb.client);
      const sourceBefore = await sourceFingerprint(src.query);
      const logs: string[] = [];
      const runbook = await loadOrThrow(SHIPPED);
      const r = await rehearse({ runbook, sourceUrl: src.url, sandbox: sb.url, samplePct: 10, log: (m) => logs.push(m) });

      expect(r.sandbox.kind, label).toBe('url');
      if (adminUrl === src.adminUrl) expect(r.sandbox.warnings.join(' ')).toMatch(/lives on the source's server/);
      else expect(r.sandbox.warnings.join(' ')).not.toMatch(/lives on the source's server/);
      expect(r.clone).not.toBeNull();
      expect(r.clone!.tables.find((t) => t.table === 'orders')!.sampleRows).toBeGreaterThan(1000);
      expect(r.deploy.status).toBe('completed');
      expect(r.steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
      expect(r.rollbackVerified).toBe(true);
      expect(r.projection.total_seconds).toBeGreaterThan(0);
      // The lock capture worked there too (the test role is a superuser).
      expect(r.deploy.ddlCapture).toBe(true);
      expect(logs.filter((m) => /left in the staging database/.test(m))).toEqual([]);

      // After close: the database is still there, with exactly what it held before.
      const exists = await adminQuery(sb.admin, `select count(*)::int n from pg_database where datname = $1`, [sb.name]);
      expect(exists.rows[0].n).toBe(1);
      expect([...(await takeInventory(sb.client)).keys].sort()).toEqual([...before.keys].sort());
      const leftovers = await sb.client.query(`
        select (select count(*)::int from pg_namespace where nspname in ('pgrunbook', 'pgrunbook_rehearsal')) as schemas,
               (select count(*)::int from pg_event_trigger) as event_triggers,
               (select count(*)::int from pg_class where relname in ('orders', 'customers', 'orders_id_seq')) as relations`);
      expect(leftovers.rows[0]).toEqual({ schemas: 0, event_triggers: 0, relations: 0 });
      await stillThere(sb.client);
      expect(await sourceFingerprint(src.query)).toEqual(sourceBefore);
    } finally {
      await sb.client.end();
    }
  }

  it('rehearses on tables the staging database already has, as they are, and keeps them', async () => {
    const sb = await staging();
    try {
      await seedOrders((sql) => sb.client.query(sql).then((x) => x.rows), 5_000);
      const before = await takeInventory(sb.client);
      const runbook = await loadOrThrow(SHIPPED);
      const r = await rehearse({ runbook, sourceUrl: src.url, sandbox: sb.url, samplePct: 10 });
      expect(r.clone).toBeNull();
      expect(r.deploy.status).toBe('completed');
      expect(r.rollbackVerified).toBe(true);
      // Its own tables stay (the rollback dropped the added column); pgrunbook's bookkeeping goes.
      expect((await sb.client.query(`select count(*)::int n from orders`)).rows[0].n).toBe(5_000);
      const col = await sb.client.query(
        `select count(*)::int n from pg_attribute where attrelid = 'orders'::regclass and attname = 'amount_cents' and not attisdropped`,
      );
      expect(col.rows[0].n).toBe(0);
      expect([...(await takeInventory(sb.client)).keys].sort()).toEqual([...before.keys].sort());
      await stillThere(sb.client);
    } finally {
      await sb.client.end();
    }
  });

  it('keeps a pgrunbook schema that was there before, and drops nothing an older object depends on (RESTRICT), saying so', async () => {
    const sb = await staging(`create schema pgrunbook; create table pgrunbook.mine (x int);`);
    try {
      const before = await takeInventory(sb.client);
      // Made after the inventory, as a rehearsal would: a table, a function an older table's default now uses, a schema.
      await sb.client.query(`
        create table public.fresh (id int);
        create function public.fresh_note() returns text language sql as $$select 'fresh'$$;
        alter table public.keep_me alter column note set default public.fresh_note();
        create schema fresh_schema; create table fresh_schema.t (id int);
        create table pgrunbook.also_fresh (x int);
        alter table pgrunbook.mine rename to mine_renamed;`);
      const left = await dropNewObjects(sb.client, before);
      expect(left).toHaveLength(1);
      expect(left[0]).toMatch(/^routine public\.fresh_note\(\): .*depend/);
      // A table that was there before and got renamed (as swap_table renames) is the same table: kept.
      const rels = await sb.client.query(
        `select relname from pg_class where relname in ('fresh', 't', 'also_fresh', 'mine', 'mine_renamed') order by 1`,
      );
      expect(rels.rows.map((x) => x.relname)).toEqual(['mine_renamed']);
      expect(
        (await sb.client.query(`select count(*)::int n from pg_namespace where nspname in ('fresh_schema', 'pgrunbook')`)).rows[0].n,
      ).toBe(1);
      // The older table keeps its new default (and with it the function): nothing older was changed.
      const def = await sb.client.query(`select pg_get_expr(adbin, adrelid) d from pg_attrdef where adrelid = 'public.keep_me'::regclass`);
      expect(def.rows[0].d).toMatch(/fresh_note/);
      await stillThere(sb.client);
    } finally {
      await sb.client.end();
    }
  });
});
