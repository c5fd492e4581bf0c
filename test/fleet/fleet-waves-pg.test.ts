// Wave control through the binary on real PostgreSQL: waves by label from the runbook's fleet:
// section, a soak and a health check whose `check` query halts the fleet, and the gate between
// waves refused without an operator, then approved by `fleet resume --yes`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createDatabase, majors } from '../support/pg.js';
import { admin as on } from '../support/fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-fleet-waves-'));
const REGIONS = ['us', 'eu', 'us', 'eu'];
// Three or four spawns of the binary per test: at a load average of 20 that takes over a minute.
const SLOW = 240_000;

const runbook = join(dir, 'regions.yaml');
writeFileSync(
  runbook,
  `version: 1
name: regions
vars:
  tenant: none
fleet:
  waves:
    - { match: { region: eu }, parallel: 2 }
    - { percent: 100, parallel: 2 }
  soak: 1s
  health:
    check: select not exists (select 1 from hold_fleet)
phases:
  deploy:
    - id: mark
      gate: none
      sql: insert into fleet_log (tenant) values ({{ tenant | literal }})
      rollback: delete from fleet_log where tenant = {{ tenant | literal }}
`,
);

// No deploy phase, so no deploy-plan gate: the targets need no --yes, and the gate between waves
// is the only question the fleet asks.
const quiet = join(dir, 'quiet.yaml');
writeFileSync(
  quiet,
  `version: 1
name: quiet
vars:
  tenant: none
fleet:
  waves: [{ match: { region: eu }, parallel: 2 }, { percent: 100, parallel: 2 }]
phases:
  monitor:
    - id: mark
      gate: none
      sql: insert into fleet_log (tenant) values ({{ tenant | literal }})
`,
);

interface Tenant {
  name: string;
  url: string;
  region: string;
  drop: () => Promise<void>;
}

async function logged(t: Tenant): Promise<string[]> {
  return on(t.url, async (c) => (await c.query('select tenant from fleet_log')).rows.map((r) => r.tenant));
}

describe.each(majors())('fleet waves on PostgreSQL %i', (major) => {
  let tenants: Tenant[] = [];

  beforeAll(async () => {
    tenants = await Promise.all(
      REGIONS.map(async (region) => {
        const db = await createDatabase(major, 'fleet_w');
        await on(db.url, (c) => c.query('create table fleet_log (tenant text not null); create table hold_fleet (why text)'));
        return { ...db, region };
      }),
    );
  });
  afterAll(async () => {
    for (const t of tenants) await t.drop();
  });

  const reset = () => Promise.all(tenants.map((t) => on(t.url, (c) => c.query('truncate fleet_log, hold_fleet'))));
  const targets = (file: string) => {
    const path = join(dir, `${file}-${major}.yaml`);
    writeFileSync(
      path,
      `targets:\n${tenants.map((t) => `  - { name: ${t.name}, url: "${t.url}", labels: { region: ${t.region} }, vars: { tenant: ${t.name} } }\n`).join('')}`,
    );
    return path;
  };

  it(
    'the eu wave first; its failing check halts the fleet after the soak; fixed, fleet resume runs the rest once',
    async () => {
      await reset();
      const [us0, eu1, us2, eu3] = tenants as [Tenant, Tenant, Tenant, Tenant];
      await on(eu3.url, (c) => c.query(`insert into hold_fleet values ('queue backlog')`));
      const state = join(dir, `s-check-${major}`);
      const args = ['--state-dir', state, '--plain'];
      const r = await runCli(['fleet', 'run', runbook, '--targets', targets('check'), '--yes', '--journal-dir', join(dir, 'j'), ...args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`fleet wave 1: 2 targets, parallel 2: ${eu1.name}, ${eu3.name}`);
      expect(r.stdout).toContain('fleet wave 1: soaking 1s before the health check');
      expect(r.stdout).toContain('fleet wave 1 health: FAILED');
      expect(r.stdout).toContain(`fleet   FAIL check: failed on 1 of 2: ${eu3.name}: returned false, expected true`);
      expect(r.stdout).toContain(`fleet HALTED: wave 1's health check failed: check (${eu3.name})`);
      expect(r.stdout).toContain(`not started (2): ${us0.name}, ${us2.name}`);
      expect(r.stdout).not.toContain('gate before wave 2');
      expect(await Promise.all(tenants.map(logged))).toEqual([[], [eu1.name], [], [eu3.name]]);

      await on(eu3.url, (c) => c.query('truncate hold_fleet'));
      const resumed = await runCli(['fleet', 'resume', ...args]);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toContain('fleet wave 1 health: ok');
      expect(resumed.stdout).not.toContain('soaking'); // the eu wave ran in the first life: not soaked again
      expect(resumed.stdout).toContain('fleet gate before wave 2: approved by --yes');
      expect(await Promise.all(tenants.map(logged))).toEqual(tenants.map((t) => [t.name]));
    },
    SLOW,
  );

  it(
    'without --yes or a terminal the gate after wave 1 is refused; fleet resume --yes approves it; decisions are events',
    async () => {
      await reset();
      const state = join(dir, `s-gate-${major}`);
      const args = ['--state-dir', state, '--json'];
      const r = await runCli(['fleet', 'run', quiet, '--targets', targets('gate'), '--journal-dir', join(dir, 'j'), ...args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.some((e) => e.type === 'fleet.soak.started')).toBe(false);
      const health = events.find((e) => e.type === 'fleet.health.checked');
      expect(health).toMatchObject({ wave: 1, ok: true });
      expect(health.items.map((i: { name: string }) => i.name)).toEqual([
        'failed runs',
        'slow steps',
        'throttle time',
        'replication lag',
        'lock waits',
      ]);
      expect(events.find((e) => e.type === 'fleet.gate.requested')).toMatchObject({ wave: 1, nextWave: 2 });
      const decided = events.find((e) => e.type === 'fleet.gate.decided');
      expect(decided).toMatchObject({ wave: 1, nextWave: 2, approved: false, by: 'no operator' });
      expect(decided.reason).toMatch(/fleet resume --yes/);
      expect(events.find((e) => e.type === 'fleet.halted').reason).toMatch(/^the gate before wave 2 was not approved/);
      expect((await Promise.all(tenants.map(logged))).map((l) => l.length)).toEqual([0, 1, 0, 1]);

      const resumed = await runCli(['fleet', 'resume', '--yes', ...args]);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toContain('"approved":true,"by":"--yes"');
      expect(await Promise.all(tenants.map(logged))).toEqual(tenants.map((t) => [t.name]));
    },
    SLOW,
  );
});
