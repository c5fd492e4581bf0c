// One of two servers stops mid-wave (fast shutdown, data kept): its targets are interrupted and say why, the
// other server's targets complete; the server comes back on its port and `fleet resume` finishes
// every target exactly once. Through the binary, on real PostgreSQL (each version of PG_VERSIONS).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { majors } from '../support/pg.js';
import { runCli, startCli } from '../support/cli.js';
import { admin, targetsFile, tenantsOnTwoServers, type TwoServers } from '../support/fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-fleet-outage-'));
const runbook = join(dir, 'bump.yaml');
writeFileSync(
  runbook,
  `version: 1
name: bump
vars:
  tenant: none
phases:
  deploy:
    - id: add
      add_column: { table: accounts, column: n, type: int, default: "0" }
    - id: bump
      backfill: { table: accounts, set: "n = n + 1", batch_size: 20, pause: 200ms }
`,
);
const SETUP = `create table accounts (id bigint primary key, name text);
  insert into accounts select g, 'a' || g from generate_series(1, 600) g`;

describe.each(majors())('pgrunbook fleet run with a server stopped mid-wave, PostgreSQL %i', (major) => {
  let two: TwoServers | undefined;
  afterAll(() => two?.cleanUp());

  it("its targets are interrupted naming the server and what to do, the other server's complete; restarted, fleet resume completes each once", async () => {
    two = await tenantsOnTwoServers(major, 6, (i) => `fleet_out${major}_${i}`, SETUP);
    const { dbs, second } = two;
    const state = join(dir, `state${major}`);
    const args = ['--state-dir', state, '--plain'];
    const run = startCli([
      'fleet',
      'run',
      runbook,
      '--targets',
      targetsFile(dir, dbs, `targets${major}.yaml`),
      '--yes',
      '--allow-irreversible',
      '--journal-dir',
      join(dir, `journal${major}`),
      '--waves',
      '[{percent: 100, parallel: 6}]',
      '--max-failures',
      '3',
      ...args,
    ]);
    for (const d of dbs) await run.waitFor(new RegExp(`\\[${d.name}\\] .*bump: started`), 120_000);
    await second.pause();
    const out = await run.done;
    expect(out.code).toBe(1);
    const where = `127.0.0.1:${second.port}`;
    for (const [i, d] of dbs.entries()) {
      const line = out.stdout
        .split('\n')
        .find((l) => l.startsWith(`fleet [${d.name}] `) && / (completed|failed|interrupted) \(run /.test(l));
      if (i % 2 === 0) expect(line, out.stdout.slice(-3000)).toMatch(/ completed/);
      else {
        // Not a failure of the change: its run stopped with its server and resumes where it stopped.
        expect(line, out.stdout.slice(-3000)).toMatch(/ interrupted /);
        expect(line).toContain(`the server ${where} cannot be reached`);
        expect(line).toMatch(/fleet resume/);
      }
    }
    // The other server's targets are done while the stopped one is still down.
    for (const d of dbs.filter((_, i) => i % 2 === 0)) {
      const rows = await admin(d.url, (c) => c.query('select n, count(*)::int as c from accounts group by n'));
      expect(rows.rows).toEqual([{ n: 1, c: 600 }]);
    }
    const status = await runCli(['fleet', 'status', '--state-dir', state]);
    for (const d of dbs.filter((_, i) => i % 2 === 1))
      expect(status.stdout).toMatch(
        new RegExp(`\\[${d.name}\\] wave 1 interrupted run \\S+: the server ${where} cannot be reached .*fleet resume`),
      );
    await second.restart();
    const resumed = await runCli(['fleet', 'resume', ...args]);
    expect(resumed.code, resumed.stderr + resumed.stdout.slice(-3000)).toBe(0);
    for (const d of dbs) {
      const rows = await admin(d.url, (c) => c.query('select n, count(*)::int as c from accounts group by n'));
      expect(rows.rows, d.name).toEqual([{ n: 1, c: 600 }]);
    }
  }, 300_000);
});
