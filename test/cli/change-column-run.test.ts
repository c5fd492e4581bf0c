// change_column through the real binary: SIGKILL in the middle of the expand's backfill while the
// application writes, then `resume` finishes the expand and the contract without losing a write.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { runCli, startCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-cc-'));

function runbook(name: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `version: 1
name: ${name}
settings:
  lock_timeout: 1s
phases:
  deploy:
    - id: expand_qty
      change_column:
        table: items
        column: qty
        type: bigint
        backfill: { batch_size: 300, pause: 20ms }
    - id: contract_qty
      change_column:
        table: items
        column: qty
        type: bigint
        stage: contract
`,
  );
  return file;
}

/** The old application version: inserts and updates qty; remembers what each row must hold. */
function oldVersion(url: string) {
  const expected = new Map<string, number>();
  let stop = false;
  const done = (async () => {
    const c = new pg.Client(url);
    await c.connect();
    for (let i = 1; !stop; i++) {
      try {
        const ins = await c.query(`INSERT INTO items (qty) VALUES ($1) RETURNING id::text AS id`, [i]);
        expected.set(ins.rows[0].id, i);
        const id = String(((i * 7919) % 15000) + 1);
        const up = await c.query(`UPDATE items SET qty = $1 WHERE id = $2`, [-i, id]);
        if (up.rowCount) expected.set(id, -i);
      } catch {
        // The contract's brief lock can make a write wait or fail: only committed writes count.
      }
    }
    await c.end();
  })();
  return { expected, stop: async () => ((stop = true), await done) };
}

for (const major of edgeMajors()) {
  describe(`change_column kill -9 and resume on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('SIGKILL during the backfill; resume completes expand and contract; every write is in the final column', async () => {
      await db.query(`CREATE TABLE items (id bigserial PRIMARY KEY, qty int NOT NULL DEFAULT 0)`);
      await db.query(`INSERT INTO items (qty) SELECT g FROM generate_series(1, 15000) g`);
      const file = runbook(`cc-kill-${major}`);
      const app = oldVersion(db.url);
      const first = startCli(['run', file, '--db', db.url, '--plain', '--yes', '--allow-irreversible']);
      await first.waitFor(/expand_qty: started/, 60_000);
      for (let i = 0; i < 300; i++) {
        const cur = await db.query(`select rows_done::int n from pgrunbook.backfill_cursors`).catch(() => []);
        if (cur[0]?.n > 1500) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      first.child.kill('SIGKILL');
      expect((await first.done).signal).toBe('SIGKILL');
      const cut = await db.query(`select pass, rows_done::int n from pgrunbook.backfill_cursors`);
      expect(cut[0].pass).not.toBe('done');
      expect((await db.query(`select count(*)::int n from items where qty_new is null`))[0].n).toBeGreaterThan(0);

      const resumed = await runCli(['resume', '--db', db.url, '--plain', '--yes', '--allow-irreversible']);
      await app.stop();
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/completed/);
      expect(
        await db.query(
          `select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = 'items'::regclass and attname = 'qty'`,
        ),
      ).toEqual([{ t: 'bigint' }]);
      expect(await db.query(`select count(*)::int n from pg_attribute where attrelid = 'items'::regclass and attname = 'qty_new'`)).toEqual(
        [{ n: 0 }],
      );
      const rows = await db.query(`select id::text id, qty::bigint v from items`);
      const actual = new Map(rows.map((r) => [r.id, Number(r.v)]));
      expect(app.expected.size).toBeGreaterThan(10);
      expect([...app.expected].filter(([id, v]) => actual.get(id) !== v)).toEqual([]);
      expect(await db.query(`select pass from pgrunbook.backfill_cursors`)).toEqual([{ pass: 'done' }]);
    }, 180_000);
  });
}
