// Every rewrite rule, proven: the naive statement and the generated runbook run on two databases
// of the same real server from the same schema and rows, and end in the same schema (schema
// diff). The runbook's lock trace shows it never rewrote a table in place and never held ACCESS
// EXCLUSIVE in a step whose kind promises not to take it.
import { describe, expect, it } from 'vitest';
import { createDatabase, edgeMajors, serverUrl, testPool } from '../support/pg.js';
import { BASE, convert, kinds, prove } from './support.js';
import type { VerifyResult } from '../../src/init/verify.js';
import type { Runbook } from '../../src/runbook/model.js';
import { LiveCatalog } from '../../src/analyze/live-catalog.js';
import { runScripts, verifyRunbook } from '../../src/init/verify.js';
import { newRunner } from '../../src/cli/composition-root.js';

/** Kinds that never take ACCESS EXCLUSIVE on the application's table. */
const NO_ACCESS_EXCLUSIVE = new Set(['backfill', 'batched_delete', 'add_foreign_key', 'check', 'unused', 'manual']);

function assertLocks(r: VerifyResult, rb: Runbook): void {
  for (const s of r.trace.steps) {
    const params = rb.phases.deploy.find((x) => x.id === s.stepId)?.params as any;
    if (s.kind !== 'swap_table')
      expect(
        s.rewrites.map((w) => w.relation),
        `${s.stepId} rewrote a table`,
      ).toEqual([]);
    const ae = s.locks.filter(
      (l) => l.granted && l.mode === 'AccessExclusiveLock' && /^(public\.)?(orders|customers|events|legacy)$/.test(l.relation),
    );
    if (NO_ACCESS_EXCLUSIVE.has(s.kind)) expect(ae, `${s.stepId} held ACCESS EXCLUSIVE`).toEqual([]);
    if (s.kind === 'create_index' && !params.add_unique && !params.add_primary_key)
      expect(ae, `${s.stepId} held ACCESS EXCLUSIVE`).toEqual([]);
  }
}

const CASES: { name: string; sql: string; kinds: string[] }[] = [
  {
    name: 'ADD COLUMN with a volatile default, NOT NULL',
    sql: 'ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()',
    kinds: ['add_column', 'sql', 'backfill', 'not_null'],
  },
  { name: 'ADD COLUMN … UNIQUE', sql: 'ALTER TABLE orders ADD COLUMN code text UNIQUE', kinds: ['add_column', 'create_index'] },
  { name: 'ADD COLUMN … CHECK', sql: 'ALTER TABLE orders ADD COLUMN qty int CHECK (qty > 0)', kinds: ['add_column', 'add_check'] },
  {
    name: 'CREATE INDEX (partial)',
    sql: 'CREATE INDEX orders_created_idx ON orders (created_at) WHERE amount > 0',
    kinds: ['create_index'],
  },
  {
    name: 'CREATE UNIQUE INDEX on an expression',
    sql: 'CREATE UNIQUE INDEX orders_note_lower ON orders (lower(note))',
    kinds: ['create_index'],
  },
  { name: 'ADD UNIQUE', sql: 'ALTER TABLE orders ADD CONSTRAINT orders_note_key UNIQUE (note)', kinds: ['create_index'] },
  { name: 'ADD PRIMARY KEY', sql: 'ALTER TABLE events ADD PRIMARY KEY (id)', kinds: ['not_null', 'create_index'] },
  {
    name: 'ADD FOREIGN KEY',
    sql: 'ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE',
    kinds: ['add_foreign_key'],
  },
  { name: 'ADD CHECK', sql: 'ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0)', kinds: ['add_check'] },
  { name: 'SET NOT NULL', sql: 'ALTER TABLE orders ALTER COLUMN amount SET NOT NULL', kinds: ['not_null'] },
  {
    name: 'ALTER COLUMN TYPE int → bigint (rewrite)',
    sql: 'ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint',
    kinds: ['swap_table', 'swap_table'],
  },
  { name: 'UPDATE of every row', sql: "UPDATE orders SET note = 'x' || id", kinds: ['backfill'] },
  { name: 'DROP COLUMN', sql: 'ALTER TABLE orders DROP COLUMN note', kinds: ['unused', 'unused', 'manual', 'sql'] },
  { name: 'DROP TABLE', sql: 'DROP TABLE legacy', kinds: ['unused', 'unused', 'manual', 'sql'] },
  { name: 'DROP INDEX', sql: 'DROP INDEX orders_customer_idx', kinds: ['sql'] },
  { name: 'DELETE of every row → batched_delete', sql: 'DELETE FROM orders', kinds: ['batched_delete'] },
];

for (const major of edgeMajors()) {
  describe(`init rewrite rules on PostgreSQL ${major}`, () => {
    for (const c of CASES) {
      it(c.name, async () => {
        const { built, result } = await prove(serverUrl(major), c.sql);
        expect(kinds(built.runbook)).toEqual(c.kinds);
        expect(result.naiveError).toBeUndefined();
        expect(result.runbookError).toBeUndefined();
        expect({ onlyNaive: result.diff.removed, onlyRunbook: result.diff.added }).toEqual({ onlyNaive: [], onlyRunbook: [] });
        expect(result.same).toBe(true);
        assertLocks(result, built.runbook);
      });
    }

    it('with the live catalog, a binary-coercible type change stays an sql step and says why', async () => {
      const db = await createDatabase(major, 'init');
      const pool = testPool(db.url, 2);
      try {
        await runScripts(db.url, [BASE]);
        const sql = 'ALTER TABLE orders ALTER COLUMN note TYPE text';
        const built = await convert(sql, { db: { pool, catalog: new LiveCatalog(pool), versionNum: major * 10000 } });
        expect(kinds(built.runbook)).toEqual(['sql']);
        expect(built.runbook.phases.deploy[0]!.why).toMatch(/no rewrite/);
        const offline = await convert(sql);
        expect(kinds(offline.runbook)).toEqual(['swap_table', 'swap_table']);
      } finally {
        await pool.end();
        await db.drop();
      }
    });

    it('a held statement is behind a type gate and its finding is in why: (a whole-table DELETE on a table without a primary key)', async () => {
      const db = await createDatabase(major, 'init');
      const pool = testPool(db.url, 2);
      let built: Awaited<ReturnType<typeof convert>>;
      try {
        await runScripts(db.url, [BASE]);
        built = await convert('DELETE FROM events', { db: { pool, catalog: new LiveCatalog(pool), versionNum: major * 10000 } });
      } finally {
        await pool.end();
        await db.drop();
      }
      const step = built.runbook.phases.deploy[0]!;
      expect(step.gate).toBe('type');
      expect(step.why).toMatch(/DELETE without WHERE/);
      expect(built.rows[0]!.verdict).toBe('held');
    });

    it('the end schemas differ when the runbook does something else (the proof can fail)', async () => {
      const { built } = await prove(serverUrl(major), 'ALTER TABLE orders ALTER COLUMN amount SET NOT NULL');
      const r = await verifyRunbook({
        adminUrl: serverUrl(major),
        base: [BASE],
        naive: ['ALTER TABLE orders ALTER COLUMN note SET NOT NULL'],
        runbook: built.runbook,
        newRunner,
      });
      expect(r.same).toBe(false);
      expect(r.diff.added.join('\n')).toMatch(/amount numeric\(12,2\) not null/);
    });
  });
}
