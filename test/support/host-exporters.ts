// Real node_exporter and Prometheus processes for the host-signal tests: each on a free port of
// 127.0.0.1, started without systemd, stopped by the test. In CI a missing binary fails the test
// (.ci/run installs the Debian packages); elsewhere the skip is said, never silent.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { NODE_EXPORTER_COLLECTORS } from '../../src/host/node-exporter.js';

const BINARIES = { 'prometheus-node-exporter': 'prometheus-node-exporter', prometheus: 'prometheus' } as const;

function installed(bin: string): boolean {
  return spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Whether `bin` is here for `what`; throws in CI when it is not. */
export function binaryForTests(bin: keyof typeof BINARIES, what: string): boolean {
  if (installed(bin)) return true;
  const pkg = BINARIES[bin];
  if (process.env.CI) throw new Error(`${bin} is not installed: .ci/run installs it (apt-get install ${pkg}); the ${what} must run in CI`);
  process.stdout.write(`SKIPPED: ${bin} is not installed (apt-get install ${pkg}); the ${what} did not run\n`);
  return false;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function waitFor(url: string, child: ChildProcess, stderr: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}): ${stderr().slice(-500)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${stderr().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface RunningProcess {
  port: number;
  url: string;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess, cleanup = () => {}): () => Promise<void> {
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    cleanup();
  };
}

/** node_exporter with the collectors pgrunbook reads (cpu, diskstats, meminfo). */
export async function startNodeExporter(): Promise<RunningProcess> {
  const port = await freePort();
  const child = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`, ...NODE_EXPORTER_COLLECTORS], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}/metrics`;
  await waitFor(url, child, () => err);
  return { port, url, stop: stopper(child) };
}

/**
 * A real node_exporter for one describe block: started before its tests, stopped after them; `here`
 * is false (and the skip said) only outside CI when the binary is missing.
 */
export function useNodeExporter(what: string): { here: boolean; exporter(): RunningProcess } {
  const here = binaryForTests('prometheus-node-exporter', what);
  let running: RunningProcess | undefined;
  beforeAll(async () => {
    if (here) running = await startNodeExporter();
  }, 90_000);
  afterAll(async () => {
    await running?.stop();
  });
  return {
    here,
    exporter: () => {
      if (!running) throw new Error('node_exporter is not running');
      return running;
    },
  };
}

/** Prometheus scraping `target` (host:port) every second, with its data in a temporary folder. */
export async function startPrometheus(target: string): Promise<RunningProcess & { instance: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pgrb-prom-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const child = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/-/ready`, child, () => err);
  return { port, url, instance: target, stop: stopper(child, () => rmSync(dir, { recursive: true, force: true })) };
}

/** A port of 127.0.0.1 where nothing listens: an endpoint that refuses connections. */
export async function closedPort(): Promise<number> {
  return freePort();
}

/** A child process that keeps one CPU busy until stopped. */
export function burnCpu(): { stop(): void } {
  const child = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
  return { stop: () => void child.kill('SIGKILL') };
}
