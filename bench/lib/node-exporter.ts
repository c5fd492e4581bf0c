// A real prometheus-node-exporter for the benches (the Debian package), on a free port of
// 127.0.0.1, and the host's CPU busy between two scrapes of it (the parser pgrunbook uses).
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { NODE_EXPORTER_COLLECTORS, type NodeSample, nodeFigures, nodeSample } from '../../src/host/node-exporter.js';

export interface BenchExporter {
  url: string;
  /** One scrape's counters. */
  sample(): Promise<NodeSample>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function scrape(url: string): Promise<NodeSample> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const s = nodeSample(await res.text(), Date.now());
  if (!s) throw new Error(`${url}: no node_cpu_seconds_total in the answer`);
  return s;
}

export async function startNodeExporter(): Promise<BenchExporter> {
  const port = await freePort();
  // A missing binary is not thrown by spawn: it comes as an 'error' event and the child never gets a pid.
  const child: ChildProcess = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`, ...NODE_EXPORTER_COLLECTORS], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {});
  const url = `http://127.0.0.1:${port}/metrics`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.pid === undefined)
      throw new Error('prometheus-node-exporter did not start (apt-get install prometheus-node-exporter)');
    try {
      await scrape(url);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within 30 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    sample: () => scrape(url),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU busy (%, all CPUs, I/O wait excluded) between two samples; NaN when no CPU time passed. */
export function cpuBusyBetween(a: NodeSample, b: NodeSample): number {
  return nodeFigures(a, b)?.cpuBusyPct ?? Number.NaN;
}
