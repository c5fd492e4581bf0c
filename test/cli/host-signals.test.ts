// `run --node-exporter` through the real binary: the backfill's host_cpu rule fires from a real
// node_exporter's figures and the plain output prints it; an endpoint that does not answer is one
// note naming the URL, never a crash; bad options say what to pass.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverUrl, useTestDatabase } from '../support/pg.js';
import { dropTenants, freshTenant, type TenantDb } from '../support/fleet.js';
import { runCli } from '../support/cli.js';
import { burnCpu, closedPort, useNodeExporter } from '../support/host-exporters.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-host-'));

function runbook(hostCpu: string): string {
  const file = join(dir, `fill-${hostCpu.replace('%', '')}.yaml`);
  writeFileSync(
    file,
    `version: 1
name: host-fill
phases:
  deploy:
    - id: fill
      backfill:
        table: items
        set: v = v + 1
        batch_size: 100
        pause: 100ms
        min_throughput: 0
        throttle:
          host_cpu: ${hostCpu}
          io_wait: 0
          app_latency: 0
          wal_rate: 0
          checkpoint_pressure: false
          probe_interval: 200ms
`,
  );
  return file;
}

describe('pgrunbook run --node-exporter', () => {
  const { here, exporter } = useNodeExporter('run --node-exporter test');
  const db = useTestDatabase();
  beforeAll(async () => {
    await db.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)');
    await db.query('INSERT INTO items (id) SELECT g FROM generate_series(1, 3000) g');
  }, 120_000);

  it.runIf(here)(
    'prints the host_cpu throttle with its figure while the CPUs spin',
    async () => {
      const burners = [burnCpu(), burnCpu()];
      try {
        const r = await runCli([
          'run',
          runbook('5%'),
          '--db',
          db.url,
          '--plain',
          '--yes',
          '--allow-irreversible',
          '--journal-dir',
          dir,
          '--node-exporter',
          exporter().url,
        ]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toMatch(
          new RegExp(
            `throttle: host_cpu \\(CPU busy [\\d.]+% on the database host over the last \\d+ s, over the 5\\.0% limit \\(node_exporter at ${exporter().url.replace(/[./]/g, '\\$&')}\\): batches run \\d+% of the time\\)`,
          ),
        );
      } finally {
        for (const b of burners) b.stop();
      }
    },
    180_000,
  );

  it('says once that the endpoint does not answer, and the run completes', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/metrics`;
    const r = await runCli([
      'run',
      runbook('85%'),
      '--db',
      db.url,
      '--plain',
      '--yes',
      '--allow-irreversible',
      '--journal-dir',
      dir,
      '--node-exporter',
      url,
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const note = `host figures unavailable from node_exporter at ${url}: connection refused (check that node_exporter runs there and that the URL ends in /metrics); host_cpu and io_wait do not hold batches meanwhile`;
    expect(r.stdout.split(note).length - 1).toBe(1);
  }, 120_000);

  it('refuses a URL that is not http(s) without echoing it, and both sources at once', async () => {
    const bad = await runCli(['run', runbook('85%'), '--db', db.url, '--plain', '--node-exporter', 'ftp://ops:hunter2@db1/metrics']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--node-exporter: not an http(s) URL');
    expect(bad.stderr + bad.stdout).not.toContain('hunter2');
    const both = await runCli([
      'run',
      runbook('85%'),
      '--db',
      db.url,
      '--plain',
      '--node-exporter',
      'http://a:9100/metrics',
      '--prometheus',
      'http://b:9090',
    ]);
    expect(both.stderr).toContain('--node-exporter and --prometheus are mutually exclusive');
  }, 60_000);
});

describe('pgrunbook fleet run --node-exporter', () => {
  const { here, exporter } = useNodeExporter('fleet run --node-exporter test');
  const server = serverUrl();
  let tenants: TenantDb[] = [];
  beforeAll(async () => {
    const setup =
      'CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL DEFAULT 0); INSERT INTO items (id) SELECT g FROM generate_series(1, 3000) g';
    tenants = [await freshTenant(server, 'host_tenant_1', setup), await freshTenant(server, 'host_tenant_2', setup)];
    writeFileSync(
      join(dir, 'fleet-targets.yaml'),
      `targets:\n${tenants.map((t) => `  - { name: ${t.name}, url: "${t.url}" }`).join('\n')}\n`,
    );
  }, 120_000);
  afterAll(async () => {
    await dropTenants(server, tenants);
  });

  const fleetRun = (url: string, state: string) =>
    runCli([
      'fleet',
      'run',
      runbook('5%'),
      '--targets',
      join(dir, 'fleet-targets.yaml'),
      '--state-dir',
      join(dir, state),
      '--journal-dir',
      dir,
      '--yes',
      '--allow-irreversible',
      '--plain',
      '--waves',
      '[{percent: 100, parallel: 2}]',
      '--node-exporter',
      url,
    ]);

  it.runIf(here)(
    "gives every target's backfill the host figures: host_cpu fires with its figure on each",
    async () => {
      const burners = [burnCpu(), burnCpu()];
      try {
        const r = await fleetRun(exporter().url, 'state-host');
        expect(r.code, r.stdout + r.stderr).toBe(0);
        const fired = r.stdout
          .split('\n')
          .filter((l) =>
            /throttle: host_cpu \(CPU busy [\d.]+% on the database host over the last \d+ s, over the 5\.0% limit \(node_exporter at /.test(
              l,
            ),
          );
        for (const t of tenants)
          expect(
            fired.some((l) => l.includes(t.name)),
            r.stdout,
          ).toBe(true);
      } finally {
        for (const b of burners) b.stop();
      }
    },
    240_000,
  );

  it('says on each target that the endpoint does not answer, and the fleet completes', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/metrics`;
    const r = await fleetRun(url, 'state-refused');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const notes = r.stdout
      .split('\n')
      .filter((l) => l.includes(`host figures unavailable from node_exporter at ${url}: connection refused`));
    for (const t of tenants)
      expect(
        notes.filter((l) => l.includes(t.name)),
        r.stdout,
      ).toHaveLength(1);
  }, 240_000);
});
