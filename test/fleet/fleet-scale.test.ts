// 30 databases over two embedded servers (the suite's and one started here), through the binary with
// the fleet's journal in a catalog database: waves of 1, 10% and the rest, a per-server limit, every
// target's end state right, and `fleet status --catalog-db` showing every target completed once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createDatabase, majors } from '../support/pg.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, targetsFile, type TenantDb, tenantsOnTwoServers, type TwoServers } from '../support/fleet.js';

const TARGETS = 30;
const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-fleet-scale-'));

describe('fleet of 30 databases over two servers', () => {
  let two: TwoServers;
  let catalog: Awaited<ReturnType<typeof createDatabase>>;
  let dbs: TenantDb[] = [];

  beforeAll(async () => {
    catalog = await createDatabase(undefined, 'fleet_scale_catalog');
    two = await tenantsOnTwoServers(
      majors()[0]!,
      TARGETS,
      (i) => `fleet_scale_${String(i).padStart(2, '0')}`,
      `create table accounts (id bigint primary key, name text);
       insert into accounts select g, 'a' || g from generate_series(1, 200) g;
       create table fleet_log (tenant text not null)`,
    );
    dbs = two.dbs;
  });
  afterAll(async () => {
    await two?.cleanUp();
    await catalog?.drop();
  });

  it('waves of 1, 10% and the rest: every target completes once, journal and status in the catalog', async () => {
    const runbook = join(dir, 'scale.yaml');
    writeFileSync(
      runbook,
      `version: 1
name: scale
vars:
  tenant: none
phases:
  deploy:
    - id: add
      add_column: { table: accounts, column: n, type: int, default: "0" }
    - id: bump
      backfill: { table: accounts, set: "n = n + 1", batch_size: 100 }
    - id: mark
      sql: insert into fleet_log (tenant) values ({{ tenant | literal }})
`,
    );
    const targets = targetsFile(dir, dbs, 'targets.yaml');
    const r = await runCli([
      'fleet',
      'run',
      runbook,
      '--targets',
      targets,
      '--catalog-db',
      catalog.url,
      '--fleet',
      'scale',
      '--yes',
      '--allow-irreversible',
      '--json',
      '--waves',
      '[{count: 1}, {percent: 10, parallel: 2}, {percent: 100, parallel: 6}]',
      '--per-server',
      '3',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const objects = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(objects.filter((o) => o.type === 'fleet.wave.started').map((o) => o.targets.length)).toEqual([1, 3, 26]);
    const finished = objects.filter((o) => o.type === 'fleet.target.finished');
    expect(finished.map((o) => o.target).sort()).toEqual(dbs.map((d) => d.name));
    expect(new Set(finished.map((o) => o.status))).toEqual(new Set(['completed']));
    for (const d of dbs) {
      const rows = await admin(d.url, (c) => c.query('select n, count(*)::int as c from accounts group by n'));
      expect(rows.rows, d.name).toEqual([{ n: 1, c: 200 }]);
      expect((await admin(d.url, (c) => c.query('select tenant from fleet_log'))).rows, d.name).toEqual([{ tenant: d.name }]);
    }
    const status = JSON.parse((await runCli(['fleet', 'status', '--catalog-db', catalog.url, '--json'])).stdout);
    expect(status.status).toBe('completed');
    expect(Object.keys(status.targets)).toEqual(dbs.map((d) => d.name));
    expect(Object.values(status.targets).every((t) => (t as { status: string }).status === 'completed')).toBe(true);
    expect(status.waves.map((w: { completed: number; failed: number }) => [w.completed, w.failed])).toEqual([
      [1, 0],
      [3, 0],
      [26, 0],
    ]);
  }, 600_000);
});
