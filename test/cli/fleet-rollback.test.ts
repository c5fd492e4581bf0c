// `pgrunbook fleet run --phase rollback` through the binary, on real PostgreSQL: a three-wave deploy,
// then its rollback newest wave first, a kill -9 mid-rollback and `fleet resume`; the same with the
// fleets' journal in a catalog database (--catalog-db) instead of a state directory.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, majors, serverUrl } from '../support/pg.js';
import { runCli, startCli } from '../support/cli.js';
import { admin, dropTenants, freshTenant, schemaOf, targetsFile, type TenantDb } from '../support/fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-fleet-rollback-'));
const runbook = join(dir, 'tenant-flag.yaml');
writeFileSync(
  runbook,
  `version: 1
name: tenant-flag
vars:
  tenant: none
settings: { lock_timeout: 200ms, ddl_retries: 2 }
phases:
  deploy:
    - id: add
      add_column: { table: accounts, column: flag, type: boolean }
    - id: mark
      sql: insert into fleet_log (tenant) values ({{ tenant | literal }})
      rollback: delete from fleet_log where tenant = {{ tenant | literal }}
  rollback:
    - id: note
      sql: insert into rollback_log (tenant) values ({{ tenant | literal }})
    - id: slow
      backfill: { table: accounts, set: "name = name || '.'", batch_size: 2, pause: 200ms }
`,
);
const SETUP = `create table accounts (id bigint primary key, name text);
  insert into accounts select g, 'a' || g from generate_series(1, 50) g;
  create table fleet_log (tenant text not null);
  create table rollback_log (tenant text not null)`;

interface LogLine {
  type: string;
  wave?: number;
  targets?: string[];
}

const events = (state: string): LogLine[] =>
  readFileSync(join(state, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LogLine);

/** What the deploy left and what the rollback did on one tenant: its fleet_log and rollback_log rows, names with the '.'. */
const rollbackEffects = (d: TenantDb) =>
  admin(d.url, async (c) => ({
    deployed: (await c.query('select tenant from fleet_log')).rows,
    rolledBack: (await c.query('select tenant from rollback_log')).rows.map((r) => r.tenant),
    names: (await c.query(`select count(*)::int as n from accounts where name ~ '^a[0-9]+[.]$'`)).rows[0].n,
  }));

describe.each(majors())('pgrunbook fleet run --phase rollback on PostgreSQL %i', (major) => {
  const dbs: TenantDb[] = [];
  afterAll(() => dropTenants(serverUrl(major), dbs));

  it('rolls back the targets whose deploy completed, newest wave first; kill -9 mid-rollback, fleet resume finishes each exactly once', async () => {
    // Five good tenants and, last, one without the accounts table: its deploy fails.
    for (let i = 0; i < 5; i++) dbs.push(await freshTenant(serverUrl(major), `fleet_rb${major}_${i}`, SETUP));
    dbs.push(await freshTenant(serverUrl(major), `fleet_rb${major}_bad`, 'create table rollback_log (tenant text not null)'));
    const before = await schemaOf(dbs[0]!.url);
    const state = join(dir, `s${major}`);
    const common = ['--state-dir', state, '--journal-dir', join(dir, `j${major}`), '--yes', '--allow-irreversible', '--plain'];
    const deploy = await runCli([
      'fleet',
      'run',
      runbook,
      '--targets',
      targetsFile(dir, dbs, `t${major}.yaml`),
      ...common,
      '--waves',
      '[{count: 1}, {count: 2, parallel: 2}, {percent: 100, parallel: 2}]',
      '--max-failures',
      '2',
    ]);
    expect(deploy.code, deploy.stderr).toBe(0);
    for (const d of dbs.slice(0, 5)) expect(await schemaOf(d.url)).not.toEqual(before);
    const deployWaves = events(state)
      .filter((e) => e.type === 'fleet.wave.started')
      .map((e) => e.targets);
    expect(deployWaves).toEqual([[dbs[0]!.name], [dbs[1]!.name, dbs[2]!.name], [dbs[3]!.name, dbs[4]!.name, dbs[5]!.name]]);

    const first = startCli(['fleet', 'run', runbook, '--phase', 'rollback', ...common]);
    await first.waitFor(new RegExp(`\\[${dbs[5]!.name}\\] skipped, not rolled back: its deploy failed`), 60_000);
    // Both targets of the first rollback wave are in their backfill (a step that resumes from its cursor).
    for (const d of dbs.slice(3, 5)) await first.waitFor(new RegExp(`\\[${d.name}\\] .*slow: started`), 120_000);
    first.child.kill('SIGKILL');
    await first.done;
    const killed = JSON.parse(readFileSync(join(state, 'fleet.json'), 'utf8'));
    expect(killed.request.phase).toBe('rollback');
    expect(killed.status).toBe('running');

    const status = await runCli(['fleet', 'status', '--state-dir', state]);
    expect(status.stdout).toMatch(/^fleet rollback running/);
    expect(status.stdout).toContain(`[${dbs[5]!.name}] skipped, not rolled back: its deploy failed`);

    const resumed = await runCli(['fleet', 'resume', '--state-dir', state, '--plain']);
    expect(resumed.code, resumed.stderr + resumed.stdout.slice(-2000)).toBe(0);

    // Newest deploy wave first: the rollback's waves are the deploy's completed targets in reverse wave order.
    const waves = events(state)
      .filter((e) => e.type === 'fleet.wave.started')
      .map((e) => [...e.targets!].sort());
    expect(waves[0]).toEqual([dbs[3]!.name, dbs[4]!.name]);
    expect(waves.slice(-2)).toEqual([[dbs[1]!.name, dbs[2]!.name], [dbs[0]!.name]]);
    for (const d of dbs.slice(0, 5)) {
      expect(await schemaOf(d.url)).toEqual(before);
      // Every step of the rollback took effect once: one note, one '.' on each of the 50 names.
      expect(await rollbackEffects(d)).toEqual({ deployed: [], rolledBack: [d.name], names: 50 });
    }
    // The target whose deploy failed was left alone.
    expect((await admin(dbs[5]!.url, (c) => c.query('select * from rollback_log'))).rowCount).toBe(0);
    const done = await runCli(['fleet', 'status', '--state-dir', state, '--json']);
    const json = JSON.parse(done.stdout);
    expect(json).toMatchObject({ status: 'completed', phase: 'rollback' });
    expect(Object.keys(json.targets).sort()).toEqual(
      dbs
        .slice(0, 5)
        .map((d) => d.name)
        .sort(),
    );
  }, 300_000);
});

describe.each(majors())('pgrunbook fleet run --phase rollback with the journal in --catalog-db, PostgreSQL %i', (major) => {
  const dbs: TenantDb[] = [];
  let catalog: Awaited<ReturnType<typeof createDatabase>> | undefined;
  afterAll(async () => {
    await dropTenants(serverUrl(major), dbs);
    await catalog?.drop();
  });

  it('rolls back the deploy fleet named in the catalog as its own fleet ID-rollback; kill -9 mid-rollback, fleet resume finishes each once', async () => {
    for (let i = 0; i < 3; i++) dbs.push(await freshTenant(serverUrl(major), `fleet_rbc${major}_${i}`, SETUP));
    dbs.push(await freshTenant(serverUrl(major), `fleet_rbc${major}_bad`, 'create table rollback_log (tenant text not null)'));
    catalog = await createDatabase(major, 'fleet_rbc_catalog');
    const before = await schemaOf(dbs[0]!.url);
    const common = ['--journal-dir', join(dir, `cj${major}`), '--yes', '--allow-irreversible', '--plain'];
    const inCatalog = ['--catalog-db', catalog.url];
    const deploy = await runCli([
      'fleet',
      'run',
      runbook,
      '--targets',
      targetsFile(dir, dbs, `tc${major}.yaml`),
      ...inCatalog,
      '--fleet',
      'tenant-flag',
      ...common,
      '--waves',
      '[{count: 1}, {percent: 100, parallel: 2}]',
      '--max-failures',
      '2',
    ]);
    expect(deploy.code, deploy.stderr + deploy.stdout.slice(-2000)).toBe(0);
    for (const d of dbs.slice(0, 3)) expect(await schemaOf(d.url)).not.toEqual(before);

    const first = startCli(['fleet', 'run', runbook, '--phase', 'rollback', ...inCatalog, '--fleet', 'tenant-flag', ...common]);
    await first.waitFor(new RegExp(`\\[${dbs[3]!.name}\\] skipped, not rolled back: its deploy failed`), 60_000);
    // The newest deploy wave (tenants 1 and 2) rolls back first; both are in their backfill.
    for (const d of dbs.slice(1, 3)) await first.waitFor(new RegExp(`\\[${d.name}\\] .*slow: started`), 120_000);
    first.child.kill('SIGKILL');
    await first.done;

    const status = await runCli(['fleet', 'status', '--catalog-db', catalog.url, '--fleet', 'tenant-flag-rollback']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^fleet rollback running/);
    expect(status.stdout).toContain(`[${dbs[3]!.name}] skipped, not rolled back: its deploy failed`);

    const resumed = await runCli(['fleet', 'resume', '--catalog-db', catalog.url, '--fleet', 'tenant-flag-rollback', '--plain']);
    expect(resumed.code, resumed.stderr + resumed.stdout.slice(-2000)).toBe(0);

    for (const d of dbs.slice(0, 3)) {
      expect(await schemaOf(d.url)).toEqual(before);
      expect(await rollbackEffects(d)).toEqual({ deployed: [], rolledBack: [d.name], names: 50 });
    }
    expect((await admin(dbs[3]!.url, (c) => c.query('select * from rollback_log'))).rowCount).toBe(0);
    const rolledBack = JSON.parse(
      (await runCli(['fleet', 'status', '--catalog-db', catalog.url, '--fleet', 'tenant-flag-rollback', '--json'])).stdout,
    );
    expect(rolledBack).toMatchObject({ status: 'completed', phase: 'rollback' });
    expect(Object.keys(rolledBack.targets).sort()).toEqual(
      dbs
        .slice(0, 3)
        .map((d) => d.name)
        .sort(),
    );
    // Newest deploy wave first, in the catalog's own event log.
    const waves = await admin(catalog.url, (c) =>
      c.query<{ targets: string[] }>(
        `select event->'targets' as targets from pgrunbook.fleet_events
          where fleet_id = 'tenant-flag-rollback' and type = 'fleet.wave.started' order by seq`,
      ),
    );
    expect(waves.rows[0]!.targets.sort()).toEqual([dbs[1]!.name, dbs[2]!.name]);
    expect(waves.rows.at(-1)!.targets).toEqual([dbs[0]!.name]);
    // The deploy fleet is still there in the catalog, completed.
    const deployed = JSON.parse(
      (await runCli(['fleet', 'status', '--catalog-db', catalog.url, '--fleet', 'tenant-flag', '--json'])).stdout,
    );
    expect(deployed.status).toBe('completed');
  }, 300_000);
});
