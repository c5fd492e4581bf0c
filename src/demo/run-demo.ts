// `pgrunbook demo`: embedded PostgreSQL, a seeded `orders` table, synthetic traffic, and
// runbooks/demo.yaml run with the Ink TUI (plain or JSON lines without a TTY). The UI is mounted
// before anything slow so the first frame comes at once; PostgreSQL is stopped on every way out.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { OutputMode } from '../render/output.js';
import { stdoutWriter } from '../render/output.js';
import { jsonRenderer } from '../render/json-renderer.js';
import { plainRenderer } from '../render/plain-renderer.js';
import { PolicyGates, type GatePort } from '../engine/gates.js';
import { currentIdentity } from '../engine/operator-identity.js';
import type { Runner, RunnerFactory, RunOutcome } from '../engine/runner.js';
import type { KindTable } from '../runbook/kind-table.js';
import { cancelOwnStatement } from '../monitor/cancel.js';
import { resolveConnection, createPool } from '../pg/connection.js';
import { DEFAULT_MAJOR, EmbeddedServer } from '../pg/embedded-server.js';
import { formatProblem } from '../runbook/model.js';
import { redact } from '../util/secrets.js';
import { InkGates } from '../ui/ink-gates.js';
import { runIntents, type Intents } from '../ui/intents.js';
import { createUiStore, snapshotMetrics } from '../ui/store.js';
import type { MountedUi } from '../ui/mount.js';
import { fmtInt } from '../ui/format.js';
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
}

export interface DemoResult {
  exitCode: number;
  outcome?: RunOutcome;
  reason?: string;
  readyMs?: number;
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
  let ui: MountedUi | undefined;
  let write: (s: string) => void = () => {};
  let runner: Runner | undefined;
  let gates: InkGates | undefined;
  let runnerIntents: Intents | undefined;
  const notYet = () => store.getState().setNotice('the runbook has not started yet');
  const intents: Intents = {
    decideGate: (id, a) => void gates?.decide(id, a),
    togglePause: () => (runnerIntents ? runnerIntents.togglePause() : notYet()),
    setBatchSize: (n) => (runnerIntents ? runnerIntents.setBatchSize(n) : notYet()),
    setPauseMs: (ms) => (runnerIntents ? runnerIntents.setPauseMs(ms) : notYet()),
    cancelOwnStatement: (pid) => (runnerIntents ? runnerIntents.cancelOwnStatement(pid) : notYet()),
    abort: () => (runner ? runner.abort('aborted by the operator') : shutdown.request('aborted by the operator')),
    quit: () => shutdown.request('the operator quit'),
  };
  const status = (text: string | undefined) => {
    store.getState().setStatus(text);
    if (!ink && text) write(`demo: ${text}\n`);
  };
  if (ink) {
    // Loading Ink costs about half a second of CPU: draw the header in plain text first, then
    // erase it when Ink takes over the same lines.
    const out = opts.stdout ?? process.stdout;
    const splash = [`pgrunbook · starting · starting PostgreSQL ${major}…`];
    out.write(splash.join('\n') + '\n');
    const { mountUi } = await import('../ui/mount.js');
    out.write(`\x1b[${splash.length}A\r\x1b[J`);
    ui = mountUi({ store, intents, monitored: true, stdout: opts.stdout, stdin: opts.stdin, onOutputClosed: (r) => shutdown.request(r) });
  } else {
    write = stdoutWriter(() => shutdown.request('stdout was closed'));
  }
  const firstFrameMs = Date.now() - t0;
  status(`starting PostgreSQL ${major}…`);
  // The heavy modules load after the first frame, overlapping PostgreSQL's start-up.
  const late = Promise.all([import('./late-deps.js'), opts.compose()]);

  let result: DemoResult = { exitCode: 0 };
  try {
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

    const admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => {});
    await shutdown.race(admin.connect());
    shutdown.add('admin connection', () => admin.end().catch(() => {}));
    await shutdown.race(admin.query(`CREATE DATABASE ${DEMO_DATABASE}`));
    const url = server.urlFor(DEMO_DATABASE);

    status(`seeding ${fmtInt(rows)} orders…`);
    const seedDb = new pg.Client({ connectionString: url, application_name: 'demo:seed' });
    seedDb.on('error', () => {});
    await shutdown.race(seedDb.connect());
    const seeded = await shutdown.race(seedOrders(seedDb, rows)).finally(() => seedDb.end().catch(() => {}));

    const rate = opts.rate ?? 40;
    const traffic = new SyntheticTraffic({ connectionString: url, rows, rate, ...opts.traffic });
    traffic.start();
    shutdown.add('traffic', () => traffic.stop());

    const [{ loadRunbookFile, Monitor }, { kinds, newRunner }] = await late;
    const loaded = await shutdown.race(loadRunbookFile(opts.runbookFile ?? DEMO_RUNBOOK, { kinds }));
    const errors = loaded.problems.filter((p) => p.severity === 'error');
    if (!loaded.runbook || errors.length) {
      throw new Error(`the demo runbook does not load:\n${loaded.problems.map(formatProblem).join('\n')}`);
    }
    const connection = resolveConnection(url);

    const monitor = Monitor.connect(connection, { relations: ['orders'], intervalMs: opts.monitorIntervalMs });
    monitor.subscribe((s) => store.getState().pushSample(s));
    monitor.onError(() => {});
    monitor.start();
    shutdown.add('monitor', () => monitor.stop());

    const user = currentIdentity().user;
    let port: GatePort;
    if (ink) port = gates = new InkGates(store, { user });
    else port = new PolicyGates({ yes: true, allowIrreversible: true, user: `${user} (demo, no terminal)` });
    runner = newRunner({
      runbook: loaded.runbook,
      connection,
      gates: port,
      nonInteractive: !ink,
      journalDir: null,
      metrics: () => snapshotMetrics(store.getState()),
    });
    const r = runner;
    r.bus.on((e) => store.getState().dispatch(e));
    if (opts.mode === 'json') r.bus.on(jsonRenderer(write));
    else if (opts.mode === 'plain') r.bus.on(plainRenderer(write));
    let cancelPool: pg.Pool | undefined;
    runnerIntents = runIntents({
      runner: r,
      decide: (id, a) => gates?.decide(id, a) ?? false,
      cancel: async (pid) => {
        cancelPool ??= createPool(connection, { applicationName: 'pgrunbook:ui', max: 1 });
        store.getState().setNotice((await cancelOwnStatement(cancelPool, pid)).message);
      },
      onError: (err) => store.getState().setNotice(redact(`cancel failed: ${(err as Error).message}`)),
    });
    shutdown.add('cancel pool', () => cancelPool?.end().catch(() => {}));
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
      result = { ...result, exitCode: 1, reason: redact((err as Error)?.message ?? String(err)) };
      if (ink) status(`failed: ${result.reason}`);
    }
  } finally {
    if (ink) store.getState().setStatus('stopping PostgreSQL…');
    await shutdown.cleanup();
    ui?.unmount();
  }
  if (!result.reason && shutdown.reason) result.reason = shutdown.reason;
  if (result.exitCode !== 0 && result.reason && !(result.outcome && result.outcome.status !== 'completed')) {
    process.stderr.write(`pgrunbook demo: ${result.reason}\n`);
  }
  if (opts.timings)
    process.stderr.write(
      `demo timings: firstFrameMs=${firstFrameMs} readyMs=${result.readyMs ?? -1} uptimeMs=${Math.round(process.uptime() * 1000)}\n`,
    );
  return result;
}
