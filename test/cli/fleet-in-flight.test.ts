// A fleet killed while its targets' `sql` step was in flight: `fleet resume` (no terminal, --yes
// recorded) does not guess whether the statement took effect; each target fails saying to check its
// database and pass --rerun or --skip TARGET:STEP, and `fleet resume --rerun a:slow --skip b:slow`
// finishes both. Through the binary, on real PostgreSQL.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { majors, serverUrl } from '../support/pg.js';
import { runCli, startCli } from '../support/cli.js';
import { admin, dropTenants, freshTenant, targetsFile, type TenantDb } from '../support/fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-fleet-in-flight-'));
const runbook = join(dir, 'slow.yaml');
writeFileSync(
  runbook,
  `version: 1
name: slow
vars:
  tenant: none
phases:
  deploy:
    - id: slow
      sql: select pg_sleep(4)
    - id: mark
      sql: insert into fleet_log (tenant) values ({{ tenant | literal }})
`,
);

describe('pgrunbook fleet resume with a step left in flight', () => {
  const major = majors()[0]!;
  const dbs: TenantDb[] = [];
  afterAll(() => dropTenants(serverUrl(major), dbs));

  it('says which target and step, and continues only with --rerun or --skip TARGET:STEP', async () => {
    for (const t of ['a', 'b']) dbs.push(await freshTenant(serverUrl(major), `fleet_if_${t}`, 'create table fleet_log (tenant text)'));
    const [a, b] = dbs as [TenantDb, TenantDb];
    const state = ['--state-dir', join(dir, 'state')];
    const run = startCli([
      'fleet',
      'run',
      runbook,
      '--targets',
      targetsFile(dir, dbs, 'targets.yaml'),
      '--waves',
      '[{percent: 100, parallel: 2}]',
      '--max-failures',
      '2',
      '--yes',
      '--allow-irreversible',
      '--plain',
      '--journal-dir',
      join(dir, 'journal'),
      ...state,
    ]);
    for (const d of dbs) await run.waitFor(new RegExp(`\\[${d.name}\\] .*slow: started`), 60_000);
    run.child.kill('SIGKILL');
    await run.done;

    const refused = await runCli(['fleet', 'resume', '--plain', ...state]);
    expect(refused.code, refused.stderr).toBe(1);
    for (const d of dbs) {
      const line = refused.stdout.split('\n').find((l) => l.startsWith(`fleet [${d.name}] `) && / failed \(run /.test(l));
      expect(line, refused.stdout.slice(-3000)).toContain(`step slow was in flight when its run stopped and its effect is unknown`);
      expect(line).toContain(`--rerun ${d.name}:slow\` (run it again) or \`--skip ${d.name}:slow\``);
    }
    // Nothing after the in-flight step ran.
    for (const d of dbs) expect((await admin(d.url, (c) => c.query('select * from fleet_log'))).rowCount).toBe(0);

    const unknown = await runCli(['fleet', 'resume', '--plain', '--rerun', 'nosuch:slow', ...state]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--rerun "nosuch:slow": the fleet has no target nosuch');
    const malformed = await runCli(['fleet', 'resume', '--plain', '--skip', 'slow', ...state]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--skip "slow": expected TARGET:STEP');

    const both = await runCli(['fleet', 'resume', '--plain', '--rerun', `${a.name}:slow`, '--skip', `${a.name}:slow`, ...state]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain(`${a.name}:slow: given to both --rerun and --skip`);

    const done = await runCli(['fleet', 'resume', '--plain', '--rerun', `${a.name}:slow`, '--skip', `${b.name}:slow`, ...state]);
    expect(done.code, done.stderr + done.stdout.slice(-3000)).toBe(0);
    const steps = async (d: TenantDb) =>
      (await admin(d.url, (c) => c.query(`select step_id, status from pgrunbook.step_states where step_id = 'slow' order by step_id`)))
        .rows;
    expect(await steps(a)).toEqual([{ step_id: 'slow', status: 'completed' }]);
    expect(await steps(b)).toEqual([{ step_id: 'slow', status: 'skipped' }]);
    for (const d of dbs) expect((await admin(d.url, (c) => c.query('select tenant from fleet_log'))).rows).toEqual([{ tenant: d.name }]);
  }, 300_000);
});
