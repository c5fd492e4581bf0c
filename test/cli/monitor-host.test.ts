// `monitor --node-exporter` through the real binary and a real node_exporter: the plain line and the
// JSON sample carry the database host's figures from the second poll on (rates need two scrapes at
// least 1 s apart), and an endpoint that does not answer is a note naming the URL while the monitor
// keeps polling.
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { runCli } from '../support/cli.js';
import { closedPort, useNodeExporter } from '../support/host-exporters.js';

const db = useTestDatabase();

describe('pgrunbook monitor --node-exporter', () => {
  const { here, exporter } = useNodeExporter('monitor --node-exporter test');

  it.runIf(here)(
    'prints the host line: waiting on the first poll, then CPU, iowait and memory',
    async () => {
      const url = exporter().url;
      const r = await runCli(['monitor', '--db', db.url, '--plain', '--count', '3', '--interval', '1500ms', '--node-exporter', url]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toContain(`host: waiting for a second reading from node_exporter at ${url}`);
      for (const l of lines.slice(1))
        expect(l).toMatch(
          / \| host: CPU [\d.]+% of \d+ cores?, iowait [\d.]+%, (disk queue [\d.]+, )?(await [\d.]+ms, )?mem free [\d.]+ [KMGT]?B of [\d.]+ [KMGT]?B over \d+ s \| /,
        );
    },
    120_000,
  );

  it.runIf(here)(
    'puts the figures in each JSON sample',
    async () => {
      const r = await runCli([
        'monitor',
        '--db',
        db.url,
        '--json',
        '--count',
        '2',
        '--interval',
        '1500ms',
        '--node-exporter',
        exporter().url,
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const [first, second] = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(first.host).toEqual({ source: `node_exporter at ${exporter().url}`, figures: null });
      const f = second.host.figures;
      expect(f.seconds).toBeGreaterThan(0);
      expect(f.cpuBusyPct).toBeGreaterThanOrEqual(0);
      expect(f.cpuBusyPct).toBeLessThanOrEqual(100);
      expect(f.memAvailableBytes).toBeGreaterThan(0);
      expect(f.memTotalBytes).toBeGreaterThanOrEqual(f.memAvailableBytes);
    },
    120_000,
  );

  it('says the endpoint does not answer and keeps polling', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/metrics`;
    const r = await runCli(['monitor', '--db', db.url, '--plain', '--count', '2', '--interval', '200ms', '--node-exporter', url]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines)
      expect(l).toContain(
        `host: host figures unavailable from node_exporter at ${url}: connection refused (check that node_exporter runs there and that the URL ends in /metrics)`,
      );
  }, 60_000);

  it('refuses a URL that is not http(s) without echoing it', async () => {
    const r = await runCli(['monitor', '--db', db.url, '--plain', '--count', '1', '--prometheus', 'ftp://ops:hunter2@prom:9090']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--prometheus: not an http(s) URL');
    expect(r.stderr + r.stdout).not.toContain('hunter2');
  }, 60_000);
});
