// dashboards/pgrunbook.json queries only metrics that exist: every pgrunbook_* name it uses is
// scraped from a real `pgrunbook run --metrics-port` (with a lock retry, a backfill, an index build
// and gates along the way), and the other names belong to postgres_exporter or node_exporter.
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';
import { deadPort } from '../support/http-receiver.js';
import { holdReader, writeRetryRunbook } from '../support/lock-retry-run.js';
import { useTestDatabase } from '../support/pg.js';

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(new URL('../../dashboards/pgrunbook.json', import.meta.url), 'utf8')) as {
  panels: Panel[];
  templating: { list: { query?: string }[] };
};
const exprs = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.map((v) => v.query ?? ''),
];
// Metric names: identifiers followed by a selector, a range, a closing paren or the end; not label names or functions.
const FUNCTIONS = new Set(['sum', 'max', 'min', 'avg', 'rate', 'increase', 'by', 'label_values', 'database', 'prometheus', 'mode', 'idle']);
const metricNames = (expr: string) =>
  [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\b(?![\s]*[=(~!])/g)].map((m) => m[1]!).filter((n) => !FUNCTIONS.has(n) && /_/.test(n));
const used = new Set(exprs.flatMap(metricNames));
const ours = [...used].filter((n) => n.startsWith('pgrunbook_'));

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-dash-'));

describe('Grafana dashboard', () => {
  it('has panels for every metric pgrunbook exports, and only exporter metrics besides', () => {
    expect(dashboard.panels.filter((p) => p.type !== 'row').every((p) => p.targets?.length)).toBe(true);
    expect(ours.length).toBeGreaterThanOrEqual(12);
    expect([...used].filter((n) => !/^(pgrunbook|pg|node)_/.test(n))).toEqual([]);
  });

  describe('against a real run', () => {
    const db = useTestDatabase();
    beforeAll(async () => {
      await db.query(
        'CREATE TABLE items (id bigint PRIMARY KEY, v int); INSERT INTO items SELECT g, g FROM generate_series(1, 3000) g; ANALYZE items',
      );
    });

    it('every pgrunbook metric the dashboard queries is in the scrape of a --metrics-port run', async () => {
      const more = '    - id: idx\n      create_index: { table: items, columns: [v2] }\n    - id: hold\n      wait: { for: 6s }\n';
      const file = writeRetryRunbook(dir, 'dashboard-scrape', 500, more);
      // A reader keeps the table busy so ADD COLUMN times out on its lock and is retried.
      const blocker = await holdReader(db.url, 'items');
      const port = await deadPort();
      const cli = startCli([
        'run',
        file,
        '--db',
        db.url,
        '--plain',
        '--yes',
        '--allow-irreversible',
        '--journal-dir',
        dir,
        '--metrics-port',
        String(port),
      ]);
      try {
        await cli.waitFor(/add: retry 1\//, 20_000);
        await blocker.release();
        await cli.waitFor(/hold: started/, 30_000);
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const declared = new Set([...text.matchAll(/^# TYPE ([a-z_]+) /gm)].map((m) => m[1]!));
        const sampled = new Set([...text.matchAll(/^([a-z_]+)(?:\{[^}]*\})? /gm)].map((m) => m[1]!));
        expect(ours.filter((n) => !declared.has(n))).toEqual([]);
        // A 3,000-row index builds before its first progress poll, so only its ratio has no sample yet.
        expect(ours.filter((n) => !sampled.has(n))).toEqual(['pgrunbook_index_build_blocks_done_ratio']);
        expect(text).toMatch(/pgrunbook_lock_retries_total\{step="add"\} [1-9]/);
        expect(text).toMatch(/pgrunbook_backfill_rows_done\{step="fill"\} 3000/);
        expect(text).toMatch(/pgrunbook_step_state\{phase="deploy",step="hold"\} 1/);
      } catch (err) {
        cli.child.kill('SIGTERM');
        throw err;
      } finally {
        await blocker.release();
      }
      expect((await cli.done).code).toBe(0);
    });
  });
});
