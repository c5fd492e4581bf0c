import { describe, it, expect, beforeEach } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { changeColumnKind } from '../../src/steps/change-column.js';
import { openFlagBackend } from '../../src/flags/open-flag-backend.js';
import { harness, eventsOf } from './ddl/helpers.js';
import { makeStep } from '../support/step-context.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem } from '../../src/runbook/model.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const changeColumn = changeColumnKind(openFlagBackend);

describe('change_column (offline)', () => {
  const load = async (params: object) => {
    const text = `version: 1\nname: c\nphases:\n  deploy:\n    - id: s\n      change_column: ${JSON.stringify(params)}\n`;
    return (await loadRunbookText(text, 'c.yaml', { kinds: STEP_KINDS })).problems.map(formatProblem);
  };

  it('checks the type and the expressions with the parser, and needs a new name or a new type', async () => {
    expect(await load({ table: 't', column: 'c', type: 'bigint', using: 'c::bigint * 2' })).toEqual([]);
    expect(await load({ table: 't', column: 'c', to: 'd' })).toEqual([]);
    expect((await load({ table: 't', column: 'c' })).join('\n')).toMatch(/give `to` \(a new name\), `type` \(a new type\) or both/);
    expect((await load({ table: 't', column: 'c', type: 'bigint; DROP TABLE t' })).join('\n')).toMatch(
      /c\.yaml:5:7: change_column s: type: /,
    );
    expect((await load({ table: 't', column: 'c', to: 'd', using: '(SELECT max(x) FROM u)' })).join('\n')).toMatch(
      /using: .*contains a subquery/,
    );
  });

  it('plans offline: the SQL it will run, the locks, and the contract as irreversible', async () => {
    const [expand, contract] = await Promise.all(
      (['expand', 'contract'] as const).map((stage) =>
        changeColumn.plan(makeStep('change_column', changeColumn.schema.parse({ table: 'items', column: 'qty', type: 'bigint', stage })), {
          runbook: {} as any,
        }),
      ),
    );
    expect(expand!.statements[0]!.sql).toMatch(
      /ADD COLUMN "qty_new" bigint;\nCREATE OR REPLACE FUNCTION "public"."pgrunbook_sync_items_qty"\(\)/,
    );
    expect(expand!.locks.map((l) => l.mode)).toEqual(['AccessExclusiveLock', 'ShareRowExclusiveLock', 'RowExclusiveLock']);
    expect(expand!.reversible).toBe(true);
    expect(contract!.reversible).toBe(false);
    expect(contract!.statements.at(-1)!.sql).toMatch(/DROP COLUMN "qty";\nALTER TABLE "items" RENAME COLUMN "qty_new" TO "qty"/);
  });
});

const SETUP = `
  DROP TABLE IF EXISTS items CASCADE;
  CREATE TABLE items (id bigserial PRIMARY KEY, qty int NOT NULL DEFAULT 1, code text, note text);
  INSERT INTO items (qty, code) SELECT g, 'c' || g FROM generate_series(1, 20000) g;
  ANALYZE items;
`;

/**
 * Two application versions writing at once: the old one writes `oldCol`, the new one `newCol`.
 * Each keeps the value it last wrote per row; rows are split between them by id parity so the
 * expected value of every row is known exactly.
 */
function traffic(url: string, oldCol: string, newCol: string) {
  const expected = new Map<string, number>();
  let stop = false;
  let writes = 0;
  const version = async (mine: 0 | 1, col: string) => {
    const c = new pg.Client(url);
    await c.connect();
    for (let i = 1; !stop; i++) {
      const v = mine * 1_000_000 + i;
      try {
        const ins = await c.query(`INSERT INTO items (${col}, code) VALUES ($1, 'w') RETURNING id::text AS id`, [v]);
        const id = String(((i * 7919) % 9999) * 2 + mine + 1);
        await c.query('BEGIN');
        const up = await c.query(`UPDATE items SET ${col} = $1 WHERE id = $2`, [v + 1, id]);
        await c.query('COMMIT');
        expected.set(ins.rows[0].id, v);
        if (up.rowCount) expected.set(id, v + 1);
        writes += 2;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        // The new version starts writing once its column exists.
        if ((err as { code?: string }).code === '42703') await new Promise((r) => setTimeout(r, 20));
        else if (!stop) throw err;
      }
    }
    await c.end();
  };
  const done = Promise.all([version(0, oldCol), version(1, newCol)]);
  return {
    expected,
    stop: async () => ((stop = true), await done),
    get writes() {
      return writes;
    },
  };
}

for (const major of edgeMajors()) {
  describe(`change_column on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeEach(async () => {
      await db.query(`CREATE SCHEMA IF NOT EXISTS pgrunbook; ${changeColumn.stateSql}`);
      await db.query(SETUP);
    });
    const col = async (c: string) =>
      (
        await db.query(
          `select format_type(atttypid, atttypmod) t, attnotnull nn, pg_get_expr(d.adbin, d.adrelid) def
             from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where attrelid = 'items'::regclass and attname = $1 and not attisdropped`,
          [c],
        )
      )[0];
    const lost = async (expected: Map<string, number>, column: string) => {
      const rows = await db.query(`select id::text id, ${column}::bigint v from items`);
      const actual = new Map(rows.map((r) => [r.id, Number(r.v)]));
      return [...expected].filter(([id, v]) => actual.get(id) !== v);
    };
    const objects = async () =>
      db.query(
        `select (select count(*)::int from pg_trigger where tgrelid = 'items'::regclass and not tgisinternal) triggers,
                (select count(*)::int from pg_proc where proname like 'pgrunbook_sync%') functions`,
      );

    it('refuses a column that an index or a view uses, and an unknown column, before touching anything', async () => {
      await db.query(`CREATE INDEX items_code_idx ON items (code); CREATE VIEW item_notes AS SELECT id, note FROM items`);
      for (const [column, msg] of [
        ['code', /used by index items_code_idx.*swap_table/],
        ['note', /used by rule _RETURN on view item_notes/],
        ['nope', /column nope does not exist/],
      ] as const) {
        const h = await harness(changeColumn, { table: 'items', column, type: 'varchar(20)' }, { url: db.url });
        expect(h.plan.notes.join('\n')).toMatch(msg);
        await expect(changeColumn.apply(h.step, h.ctx)).rejects.toThrow(msg);
        await h.ctx.close();
      }
      expect(await objects()).toEqual([{ triggers: 0, functions: 0 }]);
      expect(await col('code_new')).toBeUndefined();
    });

    it('int → bigint in place: expand under writes from both versions, contract, same name and constraints', async () => {
      const h = await harness(
        changeColumn,
        { table: 'items', column: 'qty', type: 'bigint', backfill: { batch_size: 700 } },
        { url: db.url, id: 'qty_expand' },
      );
      expect(changeColumn.defaultGate!(h.step, h.plan)).toBe('confirm');
      expect(h.plan.reversible).toBe(true);
      expect(h.plan.statements[0]!.sql).toMatch(/ADD COLUMN "qty_new" bigint;\nCREATE OR REPLACE FUNCTION/);
      const load = traffic(db.url, 'qty', 'qty_new');
      // The new version's writes fail until its column exists: start it once the trigger is in.
      await changeColumn.apply(h.step, h.ctx).finally(() => load.stop());
      expect(load.writes).toBeGreaterThan(20);
      expect([...load.expected.values()].some((v) => v > 1_000_000)).toBe(true); // the new version wrote too
      expect(await lost(load.expected, 'qty')).toEqual([]);
      expect(await lost(load.expected, 'qty_new')).toEqual([]);
      expect(await db.query(`select count(*)::int n from items where qty_new is distinct from qty`)).toEqual([{ n: 0 }]);
      expect(eventsOf(h.ctx, 'step.evidence')[0].evidence).toContainEqual(
        expect.objectContaining({ label: 'rows backfilled into qty_new' }),
      );
      expect(await changeColumn.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });

      const c = await harness(
        changeColumn,
        { table: 'items', column: 'qty', type: 'bigint', stage: 'contract' },
        { url: db.url, id: 'qty_contract' },
      );
      expect(changeColumn.defaultGate!(c.step, c.plan)).toBe('type');
      expect(c.plan.reversible).toBe(false);
      expect(await changeColumn.verify!(c.step, c.ctx)).toContainEqual(expect.objectContaining({ value: 0, ok: true }));
      await changeColumn.apply(c.step, c.ctx);
      expect(await col('qty')).toEqual({ t: 'bigint', nn: true, def: '1' });
      expect(await col('qty_new')).toBeUndefined();
      expect(await objects()).toEqual([{ triggers: 0, functions: 0 }]);
      expect(await db.query(`select count(*)::int n from pg_constraint where conrelid = 'items'::regclass and contype = 'c'`)).toEqual([
        { n: 0 },
      ]);
      expect(await lost(load.expected, 'qty')).toEqual([]);
      expect(await changeColumn.reconcile!(c.step, c.ctx)).toMatchObject({ found: 'done' });
      // Idempotent: a second contract finds nothing to do.
      expect(await changeColumn.apply(c.step, c.ctx)).toEqual({ contracted: false });
      await h.ctx.close();
      await c.ctx.close();
    });

    it('rollback in the middle of the backfill, under writes from both versions, loses no write', async () => {
      const h = await harness(
        changeColumn,
        { table: 'items', column: 'qty', to: 'quantity', type: 'bigint', backfill: { batch_size: 200, pause: '20ms' } },
        { url: db.url, id: 'qty_rename' },
      );
      const load = traffic(db.url, 'qty', 'quantity');
      const run = changeColumn.apply(h.step, h.ctx);
      for (let i = 0; i < 200 && !eventsOf(h.ctx, 'step.progress').length; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      h.ctx.abort.abort();
      await run.catch(() => {});
      await load.stop();
      expect(load.writes).toBeGreaterThan(10);
      expect([...load.expected.values()].some((v) => v > 1_000_000)).toBe(true);
      const halfway = await db.query(`select count(*)::int n from items where quantity is null`);
      expect(halfway[0].n).toBeGreaterThan(0); // stopped before the backfill finished
      // The rollback phase runs with a live signal, and the step state the aborted apply left.
      const r = await harness(changeColumn, h.step.params, { url: db.url, id: 'qty_rename', state: await h.ctx.state.get() });
      await changeColumn.rollback!(r.step, r.ctx);
      await r.ctx.close();
      expect(await col('quantity')).toBeUndefined();
      expect(await objects()).toEqual([{ triggers: 0, functions: 0 }]);
      expect(await lost(load.expected, 'qty')).toEqual([]);
      await h.ctx.close();
    });

    it('a rename: contract refuses while rows are out of step, then renames and keeps the default', async () => {
      const h = await harness(changeColumn, { table: 'items', column: 'code', to: 'label' }, { url: db.url, id: 'code_expand' });
      expect(h.plan.notes.join('\n')).not.toMatch(/REFUSED/);
      await changeColumn.apply(h.step, h.ctx);
      await db.query(`INSERT INTO items (label) VALUES ('from new')`);
      await db.query(`UPDATE items SET label = 'new wrote' WHERE id = 5`);
      await db.query(`UPDATE items SET code = 'old wrote' WHERE id = 6`);
      expect(await db.query(`select id::int, code, label from items where id in (5, 6) or label = 'from new' order by id`)).toEqual([
        { id: 5, code: 'new wrote', label: 'new wrote' },
        { id: 6, code: 'old wrote', label: 'old wrote' },
        { id: expect.any(Number), code: 'from new', label: 'from new' },
      ]);
      // A row changed behind the trigger's back: the contract must not drop the old column.
      await db.query(
        `ALTER TABLE items DISABLE TRIGGER USER; UPDATE items SET label = 'drift' WHERE id = 7; ALTER TABLE items ENABLE TRIGGER USER`,
      );
      const c = await harness(changeColumn, { table: 'items', column: 'code', to: 'label', stage: 'contract' }, { url: db.url });
      await expect(changeColumn.apply(c.step, c.ctx)).rejects.toThrow(/1 row\(s\) where label differs from the converted code/);
      expect(await col('code')).toEqual({ t: 'text', nn: false, def: null });
      await db.query(`UPDATE items SET label = code WHERE id = 7`);
      await changeColumn.apply(c.step, c.ctx);
      expect(await col('code')).toBeUndefined();
      expect(await col('label')).toEqual({ t: 'text', nn: false, def: null });
      // After the contract, rolling back the expand leaves the renamed column alone.
      await changeColumn.rollback!(h.step, h.ctx);
      expect(await col('label')).toBeDefined();
      await h.ctx.close();
      await c.ctx.close();
    });
  });
}
