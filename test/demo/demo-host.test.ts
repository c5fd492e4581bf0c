// `pgrunbook demo --node-exporter`: the endpoint reaches the demo's run. A real node_exporter feeds
// the backfill's host rules without a note; one that does not answer is said once, naming the URL,
// and the demo still completes. Drives the built binary.
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { closedPort, useNodeExporter } from '../support/host-exporters.js';

const ARGS = ['demo', '--rows', '20000', '--rate', '20', '--plain', '--exit-when-done'];
const UNAVAILABLE = 'host figures unavailable from node_exporter at';

describe('pgrunbook demo --node-exporter', () => {
  const { here, exporter } = useNodeExporter('demo --node-exporter test');

  it.runIf(here)(
    'runs the demo with a real node_exporter: no note about the host',
    async () => {
      const r = await runCli([...ARGS, '--node-exporter', exporter().url]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/run \S+ completed/);
      expect(r.stdout).not.toContain(UNAVAILABLE);
    },
    180_000,
  );

  it('says once that the endpoint does not answer, and the demo completes', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/metrics`;
    const r = await runCli([...ARGS, '--node-exporter', url]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const note = `${UNAVAILABLE} ${url}: connection refused (check that node_exporter runs there and that the URL ends in /metrics); host_cpu and io_wait do not hold batches meanwhile`;
    expect(r.stdout.split(note).length - 1).toBe(1);
  }, 180_000);

  it('refuses a URL that is not http(s) before starting PostgreSQL, without echoing it', async () => {
    const r = await runCli(['demo', '--plain', '--node-exporter', 'ftp://ops:hunter2@db1/metrics']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--node-exporter: not an http(s) URL');
    expect(r.stdout).not.toContain('starting PostgreSQL');
    expect(r.stderr + r.stdout).not.toContain('hunter2');
  }, 60_000);
});
