// The fleet's journal in the catalog database, through the binary on real PostgreSQL: a fleet run
// from one working directory, a second operator refused and shown the holder, kill -9, then resume
// from another directory with only the catalog's URL (runbook and targets file gone), status of
// every target; and `--targets-query` with its errors and no password ever printed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTargets } from '../../src/fleet/fleet-targets.js';
import { runCli, startCli } from '../support/cli.js';
import { createDatabase, testPool } from '../support/pg.js';
import { admin } from '../support/fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-fleet-store-'));

const BUMP = `version: 1
name: bump
vars:
  tenant: none
phases:
  deploy:
    - id: add
      add_column: { table: accounts, column: n, type: int, default: "0" }
    - id: bump
      backfill: { table: accounts, set: "n = n + 1", batch_size: 20, pause: 500ms }
    - id: mark
      sql: insert into fleet_log (tenant) values ({{ tenant | literal }})
`;

describe('fleet journal in --catalog-db', () => {
  const dbs: Awaited<ReturnType<typeof createDatabase>>[] = [];
  let catalog: Awaited<ReturnType<typeof createDatabase>>;

  beforeAll(async () => {
    catalog = await createDatabase(undefined, 'fleet_catalog');
    for (let i = 0; i < 4; i++) {
      const d = await createDatabase(undefined, 'fleet_store');
      await admin(d.url, (c) =>
        c.query(`create table accounts (id bigint primary key, name text);
                 insert into accounts select g, 'a' || g from generate_series(1, 400) g;
                 create table fleet_log (tenant text not null)`),
      );
      dbs.push(d);
    }
  });
  afterAll(async () => {
    for (const d of [...dbs, catalog]) await d?.drop();
  });

  it('kill -9, a second operator refused with the holder named, resume from another directory with only the catalog URL: every target once', async () => {
    const machineA = join(dir, 'a');
    const machineB = join(dir, 'b');
    mkdirSync(machineA);
    mkdirSync(machineB);
    writeFileSync(join(machineA, 'bump.yaml'), BUMP);
    writeFileSync(
      join(machineA, 'targets.yaml'),
      `targets:\n${dbs.map((d) => `  - name: ${d.name}\n    url: ${d.url}\n    vars: { tenant: ${d.name} }\n`).join('')}`,
    );
    const first = startCli(
      [
        'fleet',
        'run',
        'bump.yaml',
        '--targets',
        'targets.yaml',
        '--catalog-db',
        catalog.url,
        '--fleet',
        'bump-1',
        '--yes',
        '--allow-irreversible',
        '--plain',
        '--waves',
        '[{count: 1}, {percent: 100, parallel: 2}]',
      ],
      { cwd: machineA },
    );
    await first.waitFor(new RegExp(`\\[${dbs[2]!.name}\\] .*bump: started`), 150_000).catch((err) => {
      throw new Error(`${err.message}\n${first.stdout()}\n${first.stderr()}`);
    });

    // A second operator, elsewhere, is refused while the first holds the fleet, and told who holds it.
    const second = await runCli(['fleet', 'resume', '--catalog-db', catalog.url, '--plain'], { cwd: machineB });
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`fleet "bump-1" is held by ${userInfo().username}@${hostname()} (pid ${first.child.pid}`);
    expect(second.stderr).toMatch(/nothing was started/);

    first.child.kill('SIGKILL');
    await first.done;
    // Machine A is gone: its runbook and targets file with it.
    rmSync(machineA, { recursive: true, force: true });

    const mid = await runCli(['fleet', 'status', '--catalog-db', catalog.url], { cwd: machineB });
    expect(mid.code).toBe(0);
    expect(mid.stdout).toMatch(/^fleet running /m);
    expect(mid.stdout).toMatch(new RegExp(`^\\[${dbs[2]!.name}\\] wave 2 running run \\S+$`, 'm'));
    expect(mid.stdout).toMatch(new RegExp(`^\\[${dbs[3]!.name}\\] (not started|wave 2 running run \\S+)$`, 'm'));
    expect(mid.stdout).toContain(`continue with \`pgrunbook fleet resume --catalog-db ${catalog.url} --fleet bump-1\``);

    // The dead holder's lock was freed with its session: resume takes the fleet and completes it.
    const resumed = await runCli(['fleet', 'resume', '--catalog-db', catalog.url, '--plain'], { cwd: machineB });
    expect(resumed.stderr).not.toMatch(/error/i);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`fleet [${dbs[0]!.name}] already completed`);
    for (const d of dbs) {
      const rows = await admin(d.url, (c) => c.query('select n, count(*)::int as c from accounts group by n'));
      expect(rows.rows).toEqual([{ n: 1, c: 400 }]);
      expect((await admin(d.url, (c) => c.query('select tenant from fleet_log'))).rows).toEqual([{ tenant: d.name }]);
    }

    const done = await runCli(['fleet', 'status', '--catalog-db', catalog.url, '--json'], { cwd: machineB });
    const s = JSON.parse(done.stdout);
    expect(s.status).toBe('completed');
    expect(Object.keys(s.targets)).toEqual(dbs.map((d) => d.name));
    expect(Object.values(s.targets).map((t) => (t as { status: string }).status)).toEqual(dbs.map(() => 'completed'));
    expect(s.waves.map((w: { wave: number; completed: number }) => [w.wave, w.completed])).toEqual([
      [1, 1],
      [2, 3],
    ]);
    // The journal is in tables of the catalog database; the lock's holder row went with the lock.
    const holders = await admin(catalog.url, (c) => c.query('select count(*)::int as n from pgrunbook.fleet_holders'));
    expect(holders.rows[0].n).toBe(0);
    const events = await admin(catalog.url, (c) => c.query(`select type from pgrunbook.fleet_events where type = 'fleet.completed'`));
    expect(events.rowCount).toBe(1);
  }, 300_000); // seven binary runs: minutes at load average 20
});

describe('--targets-query', () => {
  let catalog: Awaited<ReturnType<typeof createDatabase>>;
  let tenants: Awaited<ReturnType<typeof createDatabase>>[] = [];
  let pool: pg.Pool;
  const password = 'Tq-s3cret-pw';

  beforeAll(async () => {
    catalog = await createDatabase(undefined, 'fleet_tq');
    tenants = [await createDatabase(undefined, 'fleet_tq_t'), await createDatabase(undefined, 'fleet_tq_t')];
    for (const t of tenants)
      await admin(t.url, (c) => c.query('create table accounts (id bigint primary key); create table fleet_log (tenant text)'));
    pool = testPool(catalog.url, 2);
    // The suite's servers trust local connections: the password is carried but never asked for.
    const withPassword = (url: string) => {
      const u = new URL(url);
      u.password = password;
      return u.toString();
    };
    await pool.query(`create table tenants (tenant text, dsn text, region text, plan int)`);
    for (const [i, t] of tenants.entries())
      await pool.query('insert into tenants values ($1, $2, $3, $4)', [t.name, withPassword(t.url), i ? 'eu' : 'us', i]);
  });
  afterAll(async () => {
    await pool?.end();
    for (const d of [...tenants, catalog]) await d?.drop();
  });

  const good = `select tenant as name, dsn as url, jsonb_build_object('region', region) as labels, jsonb_build_object('tenant', tenant) as vars from tenants order by tenant`;

  it('returns the targets with labels and vars as strings', async () => {
    const targets = await queryTargets(pool, good);
    expect(targets.map((t) => [t.name, t.labels, t.vars])).toEqual(
      [...tenants]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((t) => [t.name, { region: tenants.indexOf(t) ? 'eu' : 'us' }, { tenant: t.name }]),
    );
  });

  it('says which column is missing, unexpected or of the wrong type, and which row is bad', async () => {
    await expect(queryTargets(pool, 'select tenant as name from tenants')).rejects.toThrow(
      /--targets-query returned no url column \(it returned: name\)/,
    );
    await expect(queryTargets(pool, 'select tenant as name, dsn as url, region as label from tenants')).rejects.toThrow(
      /unexpected column label/,
    );
    await expect(queryTargets(pool, 'select tenant as name, dsn as url, region as labels from tenants')).rejects.toThrow(
      /column labels is text; expected jsonb/,
    );
    await expect(queryTargets(pool, 'select plan as name, dsn as url from tenants')).rejects.toThrow(
      /column name is integer; expected text/,
    );
    await expect(queryTargets(pool, `select tenant as name, 'mysql://u:${password}@h/x' as url from tenants`)).rejects.toThrow(
      /row 1 \(fleet_tq_t_\w+\): url: expected a URL like postgres:/,
    );
    await expect(queryTargets(pool, `select 'x' as name, dsn as url from tenants`)).rejects.toThrow(/row 2: target name "x" appears twice/);
    await expect(queryTargets(pool, 'select name, url from nowhere')).rejects.toThrow(
      /--targets-query failed on the catalog database: .*nowhere/,
    );
    await expect(queryTargets(pool, `${good.replace('order by', 'where false order by')}`)).rejects.toThrow(/returned no rows/);
  });

  it('a fleet from the query runs every target; no output, status or catalog row holds the password', async () => {
    const rb = join(dir, 'tq.yaml');
    writeFileSync(
      rb,
      `version: 1\nname: tq\nvars:\n  tenant: none\nphases:\n  deploy:\n    - id: mark\n      sql: insert into fleet_log (tenant) values ({{ tenant | literal }})\n`,
    );
    const r = await runCli([
      'fleet',
      'run',
      rb,
      '--catalog-db',
      catalog.url,
      '--targets-query',
      good,
      '--yes',
      '--allow-irreversible',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(
      r.code,
      r.stdout
        .split('\n')
        .filter((l) => /failed|halted/.test(l))
        .join('\n'),
    ).toBe(0);
    for (const t of tenants)
      expect((await admin(t.url, (c) => c.query('select tenant from fleet_log'))).rows).toEqual([{ tenant: t.name }]);
    const status = await runCli(['fleet', 'status', '--catalog-db', catalog.url]);
    expect(status.stdout).toMatch(/^fleet completed /m);
    const stored = await pool.query(`select string_agg(url, ' ') as urls from pgrunbook.fleet_targets`);
    expect(stored.rows[0].urls).toContain(new URL(tenants[0]!.url).host);
    const bad = await runCli([
      'fleet',
      'run',
      rb,
      '--catalog-db',
      catalog.url,
      '--targets-query',
      good.replace('dsn as url', `'x' as url`),
    ]);
    expect(bad.code).toBe(2);
    const noCatalog = await runCli(['fleet', 'run', rb, '--targets-query', good]);
    expect(noCatalog.code).toBe(2);
    expect(noCatalog.stderr).toMatch(/--targets-query runs on the catalog database/);
    for (const text of [r.stdout, r.stderr, status.stdout, status.stderr, stored.rows[0].urls, bad.stderr, bad.stdout])
      expect(text).not.toContain(password);
  }, 180_000);
});
