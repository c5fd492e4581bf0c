// The Ink front-end for `run` / `resume` (cli/execute.ts InteractiveMount): a store fed by the
// runner's events and by a monitor on the same database, InkGates as the gate port, and intents
// wired to the runner.
import { Monitor } from '../monitor/monitor-poller.js';
import { cancelOwnStatement } from '../monitor/cancel.js';
import { createPool, type ConnectionSpec } from '../pg/connection.js';
import type { EventBus } from '../engine/events.js';
import type { GatePort } from '../engine/gates.js';
import type { Runbook } from '../runbook/model.js';
import { currentIdentity } from '../engine/operator-identity.js';
import { InkGates } from './ink-gates.js';
import { runIntents, type RunnerHandle } from './intents.js';
import { mountUi, type MountedUi } from './mount.js';
import { createUiStore, snapshotMetrics, type UiStore } from './store.js';

export interface MountRunOptions {
  connection: ConnectionSpec;
  runbook?: Runbook;
  /** Poll the database for the panels (default true). */
  monitor?: boolean;
  monitorIntervalMs?: number;
  store?: UiStore;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  patchConsole?: boolean;
  /** Called when the operator quits (q / Ctrl+C) after the runner was asked to stop. */
  onQuit?(): void;
}

export interface MountedRun {
  gates: GatePort & InkGates;
  store: UiStore;
  ui: MountedUi;
  /** For RunnerOptions.metrics: what the operator saw at a gate. */
  metrics(): Record<string, unknown>;
  /** Stops the monitor and unmounts; idempotent. */
  done(): Promise<void>;
}

/** A runner as the UI sees it: the intents it accepts, and its events to listen to (not to emit). */
export type MountableRunner = RunnerHandle & { bus: Pick<EventBus, 'on'> };

/** Tables the runbook touches, for the monitor's guarded size probe. */
export function runbookRelations(rb: Runbook | undefined): string[] {
  if (!rb) return [];
  const out = new Set<string>();
  for (const steps of Object.values(rb.phases)) {
    for (const s of steps) {
      const t = (s.params as { table?: unknown } | undefined)?.table;
      if (typeof t === 'string') out.add(t);
    }
  }
  return [...out];
}

export async function mountRun(runner: MountableRunner, opts: MountRunOptions): Promise<MountedRun> {
  const store = opts.store ?? createUiStore();
  const offBus = runner.bus.on((e) => store.getState().dispatch(e));
  const gates = new InkGates(store, { user: currentIdentity().user });
  let cancelPool: ReturnType<typeof createPool> | undefined;
  const intents = runIntents({
    runner,
    decide: (id, a) => gates.decide(id, a),
    cancel: async (pid) => {
      cancelPool ??= createPool(opts.connection, { applicationName: 'pgrunbook:ui', max: 1, sessionSettings: { statement_timeout: '2s' } });
      const r = await cancelOwnStatement(cancelPool, pid);
      store.getState().setNotice(r.message);
    },
    onQuit: opts.onQuit,
    onError: (err) => store.getState().setNotice(`cancel failed: ${(err as Error).message}`),
  });
  const monitoring = opts.monitor !== false;
  let monitor: Monitor | undefined;
  if (monitoring) {
    monitor = Monitor.connect(opts.connection, { intervalMs: opts.monitorIntervalMs, relations: runbookRelations(opts.runbook) });
    monitor.subscribe((s) => store.getState().pushSample(s));
    monitor.onError(() => {
      /* probe failures become notes inside samples; connection loss is retried by the monitor */
    });
    monitor.start();
  }
  const ui = mountUi({
    store,
    intents,
    monitored: monitoring,
    stdout: opts.stdout,
    stdin: opts.stdin,
    patchConsole: opts.patchConsole,
    onOutputClosed: (reason) => runner.interrupt(reason),
  });
  let finished = false;
  return {
    gates,
    store,
    ui,
    metrics: () => snapshotMetrics(store.getState()),
    done: async () => {
      if (finished) return;
      finished = true;
      gates.declineAll('the UI closed');
      offBus();
      await monitor?.stop().catch(() => {});
      await cancelPool?.end().catch(() => {});
      ui.unmount();
    },
  };
}

/**
 * The InteractiveMount for cli/execute.ts (`setInteractiveMount(inkInteractiveMount)`), kept
 * structural so this file does not import the CLI: a runner plus the run's connection and runbook.
 */
export function inkInteractiveMount(runner: MountableRunner, opts: { connection: ConnectionSpec; runbook?: Runbook }): Promise<MountedRun> {
  return mountRun(runner, { connection: opts.connection, runbook: opts.runbook });
}
