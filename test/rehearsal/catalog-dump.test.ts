// The catalog-based schema copy (no pg_dump): a fixture with everything a rehearsal meets (schemas,
// extensions, enum/domain/composite types, serial/identity/free sequences, generated columns,
// collations, storage parameters, partitions and plain inheritance, every constraint kind incl. NOT
// VALID, indexes, triggers and their functions, views, a materialized view, statistics, replica
// identity) is copied through cloneSample into a second database and compared with schemaDiff and
// with the catalog details schemaDiff leaves out. Then a rehearsal against a server newer than the
// installed pg_dump, where `auto` must take the catalog path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chooseSchemaSource, cloneSample } from '../../src/rehearsal/clone.js';
import { findPgDump, type PgDumpBinary } from '../../src/rehearsal/pgdump.js';
import { rehearse } from '../../src/cli/composition-root.js';
import { diffSchemas, schemaSnapshot } from '../../src/rehearsal/schema-diff.js';
import { createDatabase, edgeMajors, majors } from '../support/pg.js';
import { loadOrThrow } from '../support/runbook.js';
import { seedOrders } from './support.js';

const TOUCHED = ['app.orders', 'app.customers', 'app.bookings', 'app.events', 'app.notes_base'];

function fixture(major: number): string {
  const v18 = major >= 18;
  return `
    create extension citext;
    create extension btree_gist;
    create schema app;
    create type app.status as enum ('new', 'paid', 'shipped');
    create domain app.positive_int as integer constraint positive_int_check check (value > 0);
    create domain app.email as citext not null constraint email_has_at check (value ~ '@');
    create domain app.short_code as text;
    create type app.money_pair as (amount numeric(12,2), currency char(3));
    create function app.cents(numeric) returns bigint language sql immutable return ($1 * 100)::bigint;
    create function app.norm(text) returns text language sql immutable as $$ select lower(trim($1)) $$;
    create function app.touch() returns trigger language plpgsql as $$ begin new.updated_at := now(); return new; end $$;
    create function app.audit() returns trigger language plpgsql as $$ begin return null; end $$;
    create sequence app.ticket_seq as integer start with 1000 increment by 5;
    create table app.customers (
      id bigserial primary key,
      email app.email unique,
      name text collate "C" not null,
      tier int constraint tier_required not null default 1,
      code app.short_code,
      region_id int,
      created_at timestamptz not null default now()
    ) with (fillfactor = 80, autovacuum_enabled = false, toast.autovacuum_enabled = false);
    alter table app.customers alter column name set statistics 500;
    alter table app.customers alter column code set storage external;
    alter table app.customers replica identity full;
    create table app.orders (
      id bigint generated always as identity (start with 100 increment by 2) primary key,
      customer_id bigint not null references app.customers(id) on delete cascade,
      status app.status not null default 'new',
      qty app.positive_int not null,
      price app.money_pair,
      amount numeric(12,2) not null check (amount >= 0),
      amount_cents bigint generated always as (app.cents(amount)) stored,
      ${v18 ? 'amount_x2 numeric generated always as (amount * 2) virtual,' : ''}
      ticket int default nextval('app.ticket_seq'),
      note text,
      parent_id bigint,
      updated_at timestamptz,
      constraint orders_customer_ticket unique (customer_id, ticket) deferrable initially deferred
    );
    alter table app.orders add constraint orders_parent_fk foreign key (parent_id) references app.orders(id) not valid;
    create index orders_status_idx on app.orders (status) where status <> 'shipped';
    create index orders_note_idx on app.orders (app.norm(note));
    create unique index orders_ticket_uq on app.orders (ticket) include (amount);
    create unique index orders_cust_id_uq on app.orders (customer_id, id);
    alter table app.orders replica identity using index orders_cust_id_uq;
    alter table app.orders cluster on orders_ticket_uq;
    create trigger orders_touch before update on app.orders for each row when (old.status is distinct from new.status) execute function app.touch();
    create trigger orders_audit after insert on app.orders for each statement execute function app.audit();
    alter table app.orders disable trigger orders_audit;
    create statistics app.orders_stats (dependencies) on customer_id, status from app.orders;
    create table app.rooms (id int primary key, label citext);
    create table app.bookings (
      id serial primary key,
      room_id int not null references app.rooms(id),
      during tstzrange not null,
      exclude using gist (room_id with =, during with &&)
    );
    create table app.events (
      id bigint not null,
      customer_id bigint references app.customers(id),
      at date not null,
      kind text not null default 'x' check (kind <> ''),
      payload jsonb,
      primary key (id, at)
    ) partition by range (at);
    create table app.events_2024 partition of app.events for values from ('2024-01-01') to ('2025-01-01');
    create table app.events_2025 partition of app.events for values from ('2025-01-01') to ('2026-01-01') partition by hash (id);
    create table app.events_2025_a partition of app.events_2025 for values with (modulus 2, remainder 0);
    create table app.events_2025_b partition of app.events_2025 for values with (modulus 2, remainder 1);
    create table app.events_default partition of app.events default;
    create index events_customer_idx on app.events (customer_id);
    create index events_2024_payload_idx on app.events_2024 using gin (payload);
    create trigger events_audit after insert on app.events for each row execute function app.audit();
    create table app.notes_base (id serial primary key, body text not null, check (body <> ''));
    create table app.notes_pinned (pinned_at timestamptz default now(), check (pinned_at is not null) no inherit) inherits (app.notes_base);
    -- Not touched, not linked by an FK: only a view reads it, so the copy must add it (empty).
    create table app.regions (id int primary key, name text not null);
    create view app.customer_regions as select c.id, r.name as region from app.customers c join app.regions r on r.id = c.region_id;
    create view app.order_totals as select customer_id, sum(amount) as total from app.orders group by customer_id;
    create view app.big_customers with (security_barrier) as
      select c.id, c.name, t.total from app.customers c join app.order_totals t on t.customer_id = c.id where t.total > 100;
    create materialized view app.order_counts as select status, count(*) as n from app.orders group by status;
    create unique index order_counts_status on app.order_counts (status);

    insert into app.regions values (1, 'north');
    insert into app.customers (email, name, code, region_id) values ('a@x', 'Ann', 'A1', 1), ('b@x', 'Bob', 'B2', null), ('c@x', 'Cy', null, 1);
    insert into app.orders (customer_id, qty, price, amount, note) values
      (1, 1, row(10, 'EUR'), 10, 'x'), (1, 2, null, 10, repeat('y', 600)), (2, 3, null, 250, null), (3, 1, null, 5, 'z');
    update app.orders set parent_id = 100 where id = 102;
    insert into app.rooms values (1, 'Blue'), (2, 'Red');
    insert into app.bookings (room_id, during) values (1, tstzrange('2024-01-01', '2024-01-02')), (2, tstzrange('2024-01-01', '2024-01-02'));
    insert into app.events (id, customer_id, at, payload) values (1, 1, '2024-05-01', '{"a":1}'), (2, 2, '2025-05-01', null), (3, null, '2030-01-01', null);
    insert into app.notes_base (body) values ('n1');
    insert into app.notes_pinned (body) values ('p1');
    refresh materialized view app.order_counts;
    -- NOT VALID constraints that existing rows break (the 600-character note, the null notes,
    -- the 9-character code): they must be added after the data in the copy too.
    alter table app.orders add constraint orders_note_len check (length(note) < 500) not valid;
    ${v18 ? 'alter table app.orders add constraint orders_note_nn not null note not valid;' : ''}
    update app.customers set code = 'TOO-LONG-X' where id = 3;
    alter domain app.short_code add constraint short_code_len check (length(value) <= 8) not valid;
    analyze;`;
}

/** What schemaDiff does not look at, by name (never by OID), for both databases alike. */
const DETAILS = [
  `select format('%I.%I', n.nspname, c.relname) rel, c.relkind, c.relpersistence, c.relreplident, c.reloptions, t.reloptions toast,
          c.relispopulated, c.relispartition, pg_get_expr(c.relpartbound, c.oid) bound,
          (select string_agg(format('%I.%I', pn.nspname, p.relname), ',' order by i.inhseqno) from pg_inherits i join pg_class p on p.oid = i.inhparent
             join pg_namespace pn on pn.oid = p.relnamespace where i.inhrelid = c.oid) parents
     from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_class t on t.oid = c.reltoastrelid
    where n.nspname = 'app' and not exists (select 1 from pg_index x where x.indexrelid = c.oid and not x.indisvalid) order by 1`,
  `select format('%I.%I', n.nspname, c.relname) rel, a.attname, a.attislocal, a.attinhcount, a.attstorage, a.attstattarget, a.attcollation::regcollation::text coll
     from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'app' and c.relkind in ('r', 'p', 'v', 'm', 'c') and a.attnum > 0 and not a.attisdropped order by 1, 2`,
  `select case when c.oid is null then format_type(con.contypid, null) else format('%I.%I', n.nspname, c.relname) end owner, con.conname, con.contype, con.conislocal, con.coninhcount,
          con.condeferrable, con.condeferred, con.convalidated, pg_get_constraintdef(con.oid) def,
          -- A partition's PK/UNIQUE is added with ALTER TABLE ONLY and attached, as pg_dump does, which
          -- marks it NO INHERIT; that means nothing for an index constraint, so only CHECK/NOT NULL count.
          case when con.contype in ('c', 'n') then con.connoinherit end noinherit
     from pg_constraint con left join pg_class c on c.oid = con.conrelid left join pg_namespace n on n.oid = c.relnamespace
    where con.connamespace = 'app'::regnamespace order by 1, 2`,
  `select format('%I.%I', n.nspname, i.relname) idx, x.indisreplident, x.indisclustered, x.indisvalid
     from pg_index x join pg_class i on i.oid = x.indexrelid join pg_namespace n on n.oid = i.relnamespace
    where n.nspname = 'app' and x.indisvalid order by 1`,
  `select s.stxname, pg_get_statisticsobjdef(s.oid) def from pg_statistic_ext s order by 1`,
  `select format('%I.%I', n.nspname, c.relname) seq, format_type(q.seqtypid, null) typ, q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache, q.seqcycle,
          (select format('%s.%s', d.refobjid::regclass, d.deptype) from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')) owner
     from pg_sequence q join pg_class c on c.oid = q.seqrelid join pg_namespace n on n.oid = c.relnamespace order by 1`,
  `select format('%I.%I', n.nspname, c.relname) rel, t.tgname, t.tgenabled from pg_trigger t join pg_class c on c.oid = t.tgrelid
     join pg_namespace n on n.oid = c.relnamespace where not t.tgisinternal order by 1, 2`,
  // The rows (a 100% sample), each table on its own.
  `select 'customers' t, count(*) from only app.customers union all select 'orders', count(*) from only app.orders
   union all select 'events', count(*) from app.events union all select 'notes_base', count(*) from only app.notes_base
   union all select 'notes_pinned', count(*) from only app.notes_pinned union all select 'bookings', count(*) from app.bookings
   union all select 'order_counts', count(*) from app.order_counts`,
];

async function details(db: pg.Client): Promise<unknown[][]> {
  await db.query(`set search_path = ''`);
  const out: unknown[][] = [];
  for (const q of DETAILS) out.push((await db.query(q)).rows);
  await db.query('reset search_path');
  return out;
}

for (const major of edgeMajors()) {
  describe(`catalog schema copy on PostgreSQL ${major}`, () => {
    let src: Awaited<ReturnType<typeof createDatabase>>;
    let dst: Awaited<ReturnType<typeof createDatabase>>;
    const clients: pg.Client[] = [];
    const connect = async (url: string) => {
      const c = new pg.Client(url);
      c.on('error', () => {});
      await c.connect();
      clients.push(c);
      return c;
    };
    beforeAll(async () => {
      src = await createDatabase(major, 'catsrc');
      dst = await createDatabase(major, 'catdst');
      const c = await connect(src.url);
      await c.query(fixture(major));
      // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind (amount 10 is there twice).
      await expect(c.query(`create unique index concurrently orders_amount_uq on app.orders (amount)`)).rejects.toThrow(
        /could not create unique index/,
      );
    });
    afterAll(async () => {
      for (const c of clients) await c.end().catch(() => {});
      await src?.drop();
      await dst?.drop();
    });

    it('recreates the schema identically (schemaDiff and catalog details) with the data loaded in between', async () => {
      const logs: string[] = [];
      const r = await cloneSample({
        sourceUrl: src.url,
        sandboxUrl: dst.url,
        sourceMajor: major,
        tableNames: TOUCHED,
        samplePct: 100,
        schemaFrom: 'catalog',
        log: (m) => logs.push(m),
      });
      expect(r.schemaFrom).toBe('catalog');
      expect(r.pgDump).toMatch(/catalog/);
      expect(r.snapshot).toBeTruthy();
      expect(logs.some((l) => /with catalog queries/.test(l))).toBe(true);

      const a = await connect(src.url);
      const b = await connect(dst.url);
      const diff = diffSchemas(await schemaSnapshot(a), await schemaSnapshot(b));
      // The one difference on purpose: the INVALID index is not copied, and said so.
      expect(diff.added).toEqual([]);
      expect(diff.removed).toEqual([expect.stringMatching(/^index app\.orders_amount_uq .*\(INVALID\)$/)]);
      expect(r.warnings).toContainEqual(expect.stringMatching(/orders_amount_uq is INVALID on the source .* not copied/));
      expect(await details(b)).toEqual(await details(a));

      // The table only a view reads: created empty, reported, and listed as schema-only.
      expect(r.warnings).toContainEqual(
        expect.stringMatching(/app\.regions is created empty in the sandbox: read by view app\.customer_regions/),
      );
      expect(r.tables.find((t) => t.table === 'app.regions')).toMatchObject({ method: 'schema-only', role: 'referenced', sampleRows: 0 });
      // Sequences continue where the source's are.
      const seq = `select format('%I.%I', schemaname, sequencename) s, last_value from pg_sequences order by 1`;
      const [sa, sb] = [(await a.query(seq)).rows, (await b.query(seq)).rows];
      for (const s of sa)
        if (s.last_value !== null) expect(Number(sb.find((x) => x.s === s.s)!.last_value)).toBeGreaterThanOrEqual(Number(s.last_value));
      // The copy works: identity, generated column and the triggers' function in the sandbox.
      const ins = await b.query(
        `insert into app.orders (customer_id, qty, amount, note) values (1, 1, 1.5, 'ok') returning id, amount_cents`,
      );
      expect(Number(ins.rows[0].id)).toBeGreaterThan(106);
      expect(Number(ins.rows[0].amount_cents)).toBe(150);
    });

    it('a touched partition brings its parent, created empty and with the partition attached', async () => {
      const third = await createDatabase(major, 'catpart');
      try {
        const r = await cloneSample({
          sourceUrl: src.url,
          sandboxUrl: third.url,
          sourceMajor: major,
          tableNames: ['app.events_2024'],
          samplePct: 100,
          schemaFrom: 'catalog',
        });
        expect(r.warnings).toContainEqual(
          expect.stringMatching(/app\.events is created empty in the sandbox: parent of table app\.events_2024/),
        );
        const c = new pg.Client(third.url);
        await c.connect();
        try {
          const row = (
            await c.query(`select pg_get_expr(c.relpartbound, c.oid) as bound, (select count(*)::int from app.events_2024) as n,
                                  (select indisvalid from pg_index where indexrelid = 'app.events_pkey'::regclass) as pk_valid,
                                  (select count(*)::int from pg_trigger where tgrelid = c.oid and tgname = 'events_audit') as cloned_trigger,
                                  to_regclass('app.events_2025') as sibling
                             from pg_class c where c.oid = 'app.events_2024'::regclass`)
          ).rows[0];
          expect(row).toEqual({
            bound: "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
            n: 1,
            pk_valid: true,
            cloned_trigger: 1,
            sibling: null,
          });
        } finally {
          await c.end();
        }
      } finally {
        await third.drop();
      }
    });
  });
}

describe('choosing the schema source', () => {
  let dump: PgDumpBinary | undefined;
  beforeAll(async () => {
    dump = await findPgDump(0).catch(() => undefined);
  });
  const none = { path: '/nonexistent', versionedRoots: [] };

  it('catalog when asked; auto without a usable pg_dump takes the catalog and says why; pg_dump when asked fails clearly', async () => {
    expect(await chooseSchemaSource(17, 'catalog')).toEqual({ kind: 'catalog' });
    const auto = await chooseSchemaSource(17, 'auto', none);
    expect(auto.kind).toBe('catalog');
    expect(auto.kind === 'catalog' && auto.reason).toMatch(/pg_dump not found/);
    await expect(chooseSchemaSource(17, 'pg_dump', none)).rejects.toThrow(/pg_dump not found/);
    await expect(chooseSchemaSource(17, 'dump' as never)).rejects.toThrow(/one of pg_dump, catalog, auto/);
    if (dump) {
      expect((await chooseSchemaSource(dump.major, 'auto')).kind).toBe('pg_dump');
      const newer = await chooseSchemaSource(dump.major + 1, 'auto');
      expect(newer.kind === 'catalog' && newer.reason).toMatch(/older than the source server/);
    }
  });
});

describe('rehearsal against a server newer than pg_dump', () => {
  // The newest suite server pg_dump cannot dump (17 by default, 18 in CI with pg_dump 15); where
  // every suite server is dumpable, pg_dump is hidden instead, so auto still has to fall back.
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let major: number;
  let hide: { path: string; versionedRoots: string[] } | undefined;
  beforeAll(async () => {
    const dump = await findPgDump(0).catch(() => undefined);
    const newer = majors()
      .filter((m) => !dump || m > dump.major)
      .sort((x, y) => y - x)[0];
    major = newer ?? Math.max(...majors());
    if (newer === undefined) hide = { path: '/nonexistent', versionedRoots: [] };
    db = await createDatabase(major, 'catreh');
    const c = new pg.Client(db.url);
    await c.connect();
    await seedOrders(async (sql, params) => (await c.query(sql, params as unknown[])).rows, 5_000);
    await c.end();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('auto copies the schema from the catalog, warns why, and the rehearsal completes with the rollback verified', async () => {
    const runbook = await loadOrThrow(fileURLToPath(new URL('./fixtures/add-column-sql.yaml', import.meta.url)));
    const logs: string[] = [];
    const r = await rehearse({ runbook, sourceUrl: db.url, samplePct: 10, schemaFrom: 'auto', pgDump: hide, log: (m) => logs.push(m) });
    expect(r.source.major).toBe(major);
    expect(r.clone?.schemaFrom).toBe('catalog');
    expect(r.warnings).toContainEqual(
      expect.stringMatching(/(older than the source server|pg_dump not found).*copying the schema from the source's catalog instead/),
    );
    expect(logs.some((l) => l.startsWith('warning:') && /catalog instead/.test(l))).toBe(true);
    expect(r.deploy.status).toBe('completed');
    expect(r.rollback?.status).toBe('completed');
    expect(r.rollbackVerified).toBe(true);
    const orders = r.clone!.tables.find((t) => t.table === 'orders')!;
    expect(orders.sampleRows).toBeGreaterThan(0);
    expect(r.clone!.tables.find((t) => t.table === 'customers')?.role).toBe('referenced');
  });
});
