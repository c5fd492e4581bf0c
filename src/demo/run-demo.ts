// `pgrunbook demo`: embedded PostgreSQL, a seeded `orders` table, synthetic traffic, and
// runbooks/demo.yaml run through the one run wiring (src/wiring/run-wiring.ts): the Ink TUI, or plain or
// JSON lines without a TTY. The UI is mounted before anything slow so the first frame comes at once;
// PostgreSQL is stopped on every way out.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { OutputMode } from '../render/output.js';
import { currentIdentity } from '../engine/operator-identity.js';
import type { RunnerFactory, RunOutcome } from '../engine/runner.js';
import type { KindTable } from '../runbook/kind-table.js';
import { resolveConnection } from '../pg/connection.js';
import { DEFAULT_MAJOR, EmbeddedServer } from '../pg/embedded-server.js';
import type { LoadResult } from '../runbook/load.js';
import { formatProblem, type Runbook } from '../runbook/model.js';
import { redactedMessage } from '../util/secrets.js';
import { createUiStore, type UiStore } from '../ui/store.js';
import { fmtInt } from '../ui/format.js';
import { RunWiring, type WiringSeams } from '../wiring/run-wiring.js';
import type { HostSignals } from '../engine/ports.js';
import { seedOrders } from './seed.js';
import { Shutdown, StopRequested, SIGNAL_EXIT_CODE } from './shutdown.js';
import { SyntheticTraffic, type TrafficOptions } from './traffic.js';
import { watchServer, type Watchdog } from './watchdog.js';

export const DEMO_RUNBOOK = fileURLToPath(new URL('../../runbooks/demo.yaml', import.meta.url));
export const DEMO_DATABASE = 'demo';

/** What the demo takes from the composition root: the step kinds and a runner factory. */
export interface DemoComposition {
  kinds: KindTable;
  newRunner: RunnerFactory;
}

export interface DemoOptions {
  mode: OutputMode;
  /** Loads the composition root (src/cli/composition-root.ts); called after the first frame. */
  compose(): Promise<DemoComposition>;
  rows?: number;
  major?: number;
  /** Traffic operations per second (0 = no traffic). */
  rate?: number;
  traffic?: Partial<Omit<TrafficOptions, 'connectionString' | 'rows' | 'rate'>>;
  runbookFile?: string;
  /** Ink mode: keep the screen (and traffic) after the run until the operator quits. Default true. */
  stay?: boolean;
  monitorIntervalMs?: number;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Print timings (first frame, ready) on stderr when it ends, for benchmarks. */
  timings?: boolean;
  /** The host's figures (--node-exporter / --prometheus): the Workload panel's host line, host_cpu and io_wait. */
  host?: HostSignals;
}

export interface DemoResult {
  exitCode: number;
  outcome?: RunOutcome;
  reason?: string;
  readyMs?: number;
}

/**
 * The run wiring of the demo: gates approved by policy without a terminal, the panels always fed,
 * and every way out (q, a closed terminal, abort before the run) stops the whole demo.
 */
export function demoWiring(
  opts: Pick<DemoOptions, 'mode' | 'monitorIntervalMs' | 'stdout' | 'stdin'>,
  store: UiStore,
  shutdown: Pick<Shutdown, 'request'>,
  seams: WiringSeams = {},
): RunWiring {
  return new RunWiring({
    mode: opts.mode,
    store,
    policy: { yes: true, allowIrreversible: true, user: `${currentIdentity().user} (demo, no terminal)` },
    monitor: true,
    monitorIntervalMs: opts.monitorIntervalMs,
    stop: (reason) => shutdown.request(reason),
    stdout: opts.stdout,
    stdin: opts.stdin,
    ...seams,
  });
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const t0 = Date.now();
  const rows = opts.rows ?? 1_000_000;
  const major = opts.major ?? DEFAULT_MAJOR;
  const ink = opts.mode === 'ink';
  const store = createUiStore({ status: `starting PostgreSQL ${major}…` });
  const shutdown = new Shutdown();
  shutdown.installSignals();

  // Output first: the screen (or the first plain line) must not wait for PostgreSQL.
  const wiring = demoWiring(opts, store, shutdown);
  const status = (text: string | undefined) => {
    store.getState().setStatus(text);
    if (!ink && text) wiring.write(`demo: ${text}\n`);
  };
  await wiring.show(`pgrunbook · starting · starting PostgreSQL ${major}…`);
  const firstFrameMs = Date.now() - t0;
  status(`starting PostgreSQL ${major}…`);
  // The heavy modules load after the first frame, overlapping PostgreSQL's start-up.
  const late = Promise.all([import('./late-deps.js'), opts.compose()]);

  let result: DemoResult = { exitCode: 0 };
  try {
    const url = await startDatabase(shutdown, major);

    status(`seeding ${fmtInt(rows)} orders…`);
    const rate = opts.rate ?? 40;
    const seeded = await seedAndStartTraffic(shutdown, url, rows, rate, opts.traffic);

    const [{ loadRunbookFile }, { kinds, newRunner }] = await late;
    const runbook = await loadDemoRunbook(shutdown, () => loadRunbookFile(opts.runbookFile ?? DEMO_RUNBOOK, { kinds }));
    const connection = resolveConnection(url);
    const r = newRunner({
      runbook,
      connection,
      gates: wiring.gates,
      nonInteractive: !ink,
      journalDir: null,
      metrics: () => wiring.metrics(),
      ...(opts.host ? { host: opts.host } : {}),
    });
    await wiring.attach(r, { connection, relations: ['orders'], ...(opts.host ? { host: opts.host } : {}) });
    shutdown.add('monitor and cancel pool', () => wiring.detach());
    shutdown.onRequest((reason) => r.interrupt(reason));

    const readyMs = Date.now() - t0;
    result.readyMs = readyMs;
    status(undefined);
    r.bus.emit({
      type: 'step.log',
      stepId: 'demo',
      level: 'info',
      message: `demo ready in ${(readyMs / 1000).toFixed(1)} s: ${fmtInt(seeded.rows)} orders seeded in ${(seeded.ms / 1000).toFixed(1)} s, traffic ${rate} ops/s on PostgreSQL ${major}`,
    });

    const outcome = await r.run();
    // One rule for run and demo: 0 only when the runbook completed; stopped earlier (q, Ctrl+C) is 1.
    const exitCode = shutdown.signal ? (SIGNAL_EXIT_CODE[shutdown.signal] ?? 1) : outcome.status === 'completed' ? 0 : 1;
    result = { ...result, outcome, exitCode };
    if (ink && opts.stay !== false && !shutdown.isRequested) {
      status(`demo ${outcome.status}: look around, q quits (PostgreSQL stops with it)`);
      await shutdown.requested;
    }
  } catch (err) {
    if (err instanceof StopRequested) {
      result = { ...result, exitCode: shutdown.signal ? (SIGNAL_EXIT_CODE[shutdown.signal] ?? 1) : 1, reason: err.reason };
    } else {
      result = { ...result, exitCode: 1, reason: redactedMessage(err) };
      if (ink) status(`failed: ${result.reason}`);
    }
  } finally {
    if (ink) store.getState().setStatus('stopping PostgreSQL…');
    await shutdown.cleanup();
    await wiring.close();
  }
  reportEnd(result, shutdown, opts.timings ? firstFrameMs : undefined);
  return result;
}

/** Starts the embedded server and creates the demo database; returns its URL. */
export async function startDatabase(shutdown: Shutdown, major: number): Promise<string> {
  // Registered before it is up: a stop requested during start-up waits for the start, then stops it.
  const starting = EmbeddedServer.start({ major });
  let watchdog: Watchdog | undefined;
  shutdown.add('PostgreSQL', async () => {
    const s = await starting.catch(() => undefined);
    await s?.stop();
    watchdog?.dismiss();
  });
  const server = await shutdown.race(starting);
  if (server.pid) watchdog = watchServer(server.pid, server.dataDir);

  const admin = new pg.Client({ connectionString: server.localUrl() });
  admin.on('error', () => {});
  await shutdown.race(admin.connect());
  shutdown.add('admin connection', () => admin.end().catch(() => {}));
  await shutdown.race(admin.query(`CREATE DATABASE ${DEMO_DATABASE}`));
  return server.localUrl(DEMO_DATABASE);
}

async function seedAndStartTraffic(
  shutdown: Shutdown,
  url: string,
  rows: number,
  rate: number,
  traffic: DemoOptions['traffic'],
): Promise<{ rows: number; ms: number }> {
  const seedDb = new pg.Client({ connectionString: url, application_name: 'demo:seed' });
  seedDb.on('error', () => {});
  await shutdown.race(seedDb.connect());
  const seeded = await shutdown.race(seedOrders(seedDb, rows)).finally(() => seedDb.end().catch(() => {}));
  const synthetic = new SyntheticTraffic({ connectionString: url, rows, rate, ...traffic });
  synthetic.start();
  shutdown.add('traffic', () => synthetic.stop());
  return seeded;
}

async function loadDemoRunbook(shutdown: Shutdown, load: () => Promise<LoadResult>): Promise<Runbook> {
  const loaded = await shutdown.race(load());
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (!loaded.runbook || errors.length) {
    throw new Error(`the demo runbook does not load:\n${loaded.problems.map(formatProblem).join('\n')}`);
  }
  return loaded.runbook;
}

/** Why it stopped, on stderr, when that is not already on the screen; and the timings when asked. */
function reportEnd(result: DemoResult, shutdown: Shutdown, firstFrameMs: number | undefined): void {
  if (!result.reason && shutdown.reason) result.reason = shutdown.reason;
  if (result.exitCode !== 0 && result.reason && !(result.outcome && result.outcome.status !== 'completed')) {
    process.stderr.write(`pgrunbook demo: ${result.reason}\n`);
  }
  if (firstFrameMs !== undefined)
    process.stderr.write(
      `demo timings: firstFrameMs=${firstFrameMs} readyMs=${result.readyMs ?? -1} uptimeMs=${Math.round(process.uptime() * 1000)}\n`,
    );
}
