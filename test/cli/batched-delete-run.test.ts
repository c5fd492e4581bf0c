// batched_delete through the real binary: SIGKILL in the middle, `resume` finishes; every matching
// row is gone, every other row stays, and the cursor counted each deleted row exactly once.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { runCli, startCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-bd-'));

for (const major of edgeMajors()) {
  describe(`batched_delete kill -9 and resume on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('SIGKILL during the delete; resume deletes the rest, each row counted once', async () => {
      await db.query(`CREATE TABLE audit (id bigserial PRIMARY KEY, year int NOT NULL)`);
      await db.query(`INSERT INTO audit (year) SELECT 2000 + g % 4 FROM generate_series(1, 20000) g`);
      const file = join(dir, `bd-${major}.yaml`);
      writeFileSync(
        file,
        `version: 1\nname: bd-${major}\nphases:\n  deploy:\n    - id: purge\n      batched_delete: { table: audit, where: "year < 2002", batch_size: 400, pause: 20ms }\n`,
      );
      const first = startCli(['run', file, '--db', db.url, '--plain', '--yes', '--allow-irreversible']);
      await first.waitFor(/purge: started/, 60_000);
      for (let i = 0; i < 300; i++) {
        const cur = await db.query(`select rows_done::int n from pgrunbook.backfill_cursors`).catch(() => []);
        if (cur[0]?.n > 2000) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      first.child.kill('SIGKILL');
      expect((await first.done).signal).toBe('SIGKILL');
      const left = (await db.query(`select count(*)::int n from audit where year < 2002`))[0].n;
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThan(10000);

      const resumed = await runCli(['resume', '--db', db.url, '--plain', '--yes', '--allow-irreversible']);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(await db.query(`select year, count(*)::int n from audit group by year order by year`)).toEqual([
        { year: 2002, n: 5000 },
        { year: 2003, n: 5000 },
      ]);
      expect(await db.query(`select pass, rows_done::int from pgrunbook.backfill_cursors`)).toEqual([{ pass: 'done', rows_done: 10000 }]);
    }, 180_000);
  });
}
