// The one wiring of a run to its front-end, used by `run`, `resume`, `demo` and each target of a
// fleet (src/wiring/fleet-wiring.ts): the gate port (InkGates on a terminal, the policy otherwise), the UI store fed by the
// runner's events, the intents, the cancel pool, the monitor, and the renderer for the output mode.
// Ink and the monitor load only when they are used, so a host can draw its first frame at once.
import { PolicyGates, type GatePort } from '../engine/gates.js';
import type { EventBus, RunEvent } from '../engine/events.js';
import { currentIdentity } from '../engine/operator-identity.js';
import { cancelOwnStatement, type CancelResult } from '../monitor/cancel.js';
import type { Monitor } from '../monitor/monitor-poller.js';
import type { ConnectionSpec } from '../pg/connection.js';
import type { Queryable } from '../pg/queryable.js';
import { jsonRenderer } from '../render/json-renderer.js';
import { plainRenderer } from '../render/plain-renderer.js';
import { stdoutWriter, type OutputMode } from '../render/output.js';
import type { Runbook } from '../runbook/model.js';
import { redactedMessage } from '../util/secrets.js';
import { InkGates } from '../ui/ink-gates.js';
import { runIntents, type Intents, type RunnerHandle } from '../ui/intents.js';
import type { MountedUi, MountOptions } from '../ui/mount.js';
import { createUiStore, snapshotMetrics, type UiStore } from '../ui/store.js';
import { CancelPool } from './cancel-pool.js';
import type { HostSignals } from '../engine/ports.js';

/** A runner as the front-end sees it: the intents it accepts, and its events to listen to (not to emit). */
export type WiredRunner = RunnerHandle & { bus: Pick<EventBus, 'on'> };

export interface RunWiringOptions {
  mode: OutputMode;
  /** How gates are decided when there is no terminal to ask (plain and JSON output). */
  policy: { yes: boolean; allowIrreversible: boolean; user?: string };
  /** Poll the database for the panels and the gate metrics (default: only with the TUI). */
  monitor?: boolean;
  monitorIntervalMs?: number;
  /**
   * The front-end asks to stop: q, a closed terminal or stdout, or abort before a runner is
   * attached. Default: interrupt the attached runner at a safe point.
   */
  stop?(reason: string): void;
  store?: UiStore;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  patchConsole?: boolean;
  /** Where plain / JSON output goes (default: stdout). */
  write?(text: string): void;
  /** Another Ink screen over the same store and intents (`pgrunbook learn`); default: the run screen. */
  screen?: MountOptions['screen'];
  /** Cancels one of our statements through the cancel pool (a test may count or fail it). */
  cancelStatement?(db: Queryable, pid: number): Promise<CancelResult>;
  /** The plain/JSON renderer of this run's events (default: the mode's own); a fleet prefixes the target. */
  renderer?(write: (s: string) => void): (e: RunEvent) => void;
  /** Where plain/JSON lines go (default: stdout); a fleet shares one writer among its targets. */
  write?(s: string): void;
  /** The host draws the screen (the fleet view shows this run's store): `show` mounts nothing. */
  hostScreen?: boolean;
  /** Gates by the policy even under the TUI (a fleet run with --yes: no target stops to ask). */
  policyGates?: boolean;
}

/** What a host lets a test replace in its wiring. */
export type WiringSeams = Pick<RunWiringOptions, 'cancelStatement'>;

export interface AttachOptions {
  connection: ConnectionSpec;
  runbook?: Runbook;
  /** Tables the monitor sizes (default: those the runbook's steps name). */
  relations?: string[];
  /** The database host's figures for the Workload panel's host line. */
  host?: HostSignals;
}

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

export class RunWiring {
  readonly store: UiStore;
  /** The gate port to give the runner. */
  readonly gates: GatePort;
  /** What the TUI's keys do; before a runner is attached, they say so (or stop). */
  readonly intents: Intents;
  private readonly inkGates?: InkGates;
  private readonly stopWith: (reason: string) => void;
  private runner?: WiredRunner;
  private live?: Intents;
  private ui?: MountedUi;
  private writer?: (s: string) => void;
  private monitor?: Monitor;
  private cancelPool?: CancelPool;
  private offBus?: () => void;
  private at?: AttachOptions;

  constructor(private readonly opts: RunWiringOptions) {
    this.store = opts.store ?? createUiStore();
    const user = currentIdentity().user;
    if (opts.mode === 'ink' && !opts.policyGates) this.gates = this.inkGates = new InkGates(this.store, { user });
    else this.gates = new PolicyGates({ user, ...opts.policy });
    this.stopWith = opts.stop ?? ((reason) => this.runner?.interrupt(reason));
    this.intents = this.lateIntents();
  }

  get interactive(): boolean {
    return this.opts.mode === 'ink';
  }

  /** Whether a gate waits for the operator's answer (else the policy decides at once). */
  get asks(): boolean {
    return this.inkGates !== undefined;
  }

  /** Whether the panels are fed (and gate decisions journal what they showed). */
  get monitored(): boolean {
    return this.opts.monitor ?? this.interactive;
  }

  /** Shows the front-end: mounts Ink, or opens stdout for plain / JSON lines. Idempotent. */
  async show(splash?: string): Promise<void> {
    if (this.ui || this.writer) return;
    if (!this.interactive) {
      this.writer = this.opts.write ?? stdoutWriter(() => this.stopWith('stdout was closed'));
      return;
    }
    if (this.opts.hostScreen) return;
    // Loading Ink takes a moment: a splash line holds its place, and Ink draws over it.
    const out = this.opts.stdout ?? process.stdout;
    if (splash) out.write(`${splash}\n`);
    const { mountUi } = await import('../ui/mount.js');
    if (splash) out.write('\x1b[1A\r\x1b[J');
    this.ui = mountUi({
      store: this.store,
      intents: this.intents,
      monitored: this.monitored,
      stdout: this.opts.stdout,
      stdin: this.opts.stdin,
      patchConsole: this.opts.patchConsole,
      screen: this.opts.screen,
      onOutputClosed: (reason) => this.stopWith(reason),
    });
  }

  /** Writes a line of plain output (nothing under Ink, nothing before `show`). */
  write(text: string): void {
    this.writer?.(text);
  }

  /** Connects the runner: its events feed the store and the renderer, the intents reach it, the monitor starts. */
  async attach(runner: WiredRunner, at: AttachOptions): Promise<void> {
    await this.show();
    this.runner = runner;
    const offStore = runner.bus.on((e) => this.store.getState().dispatch(e));
    const renderer = this.writer && (this.opts.renderer ?? (this.opts.mode === 'json' ? jsonRenderer : plainRenderer))(this.writer);
    const offRenderer = renderer ? runner.bus.on(renderer) : undefined;
    this.offBus = () => {
      offStore();
      offRenderer?.();
    };
    this.cancelPool = new CancelPool(at.connection);
    const cancel = this.opts.cancelStatement ?? cancelOwnStatement;
    this.live = runIntents({
      runner,
      decide: (id, answer) => this.inkGates?.decide(id, answer) ?? false,
      cancel: async (pid) => this.notice((await cancel(this.cancelPool!.db(), pid)).message),
      onError: (err) => this.notice(`cancel failed: ${redactedMessage(err)}`),
    });
    this.at = at;
    if (this.monitored) await this.startMonitor(at);
  }

  /** Starts or stops the panels' monitor after `attach` (the fleet view watches only the target it shows). */
  async watch(on: boolean): Promise<void> {
    if (on && !this.monitor && this.at && this.offBus) return this.startMonitor(this.at);
    if (on || !this.monitor) return;
    const monitor = this.monitor;
    this.monitor = undefined;
    await monitor.stop().catch(() => {});
  }

  /** What the operator saw on the panels, journaled with each gate decision (none without a monitor). */
  metrics(): Record<string, unknown> | undefined {
    return this.monitored ? snapshotMetrics(this.store.getState()) : undefined;
  }

  notice(text: string): void {
    this.store.getState().setNotice(text);
  }

  /** Stops the monitor and the cancel pool and declines open gates; the screen stays. Idempotent. */
  async detach(): Promise<void> {
    this.inkGates?.declineAll('the UI closed');
    this.offBus?.();
    this.offBus = undefined;
    const monitor = this.monitor;
    const pool = this.cancelPool;
    this.monitor = this.cancelPool = undefined;
    await monitor?.stop().catch(() => {});
    await pool?.end();
  }

  /** Detaches and unmounts; the last frame stays on the terminal. Idempotent. */
  async close(): Promise<void> {
    await this.detach();
    this.ui?.unmount();
  }

  private async startMonitor(at: AttachOptions): Promise<void> {
    const { Monitor } = await import('../monitor/monitor-poller.js');
    // Detached (or already watching) while Ink's monitor module loaded: nothing to start.
    if (!this.offBus || this.monitor) return;
    const relations = at.relations ?? runbookRelations(at.runbook);
    this.monitor = Monitor.connect(at.connection, {
      intervalMs: this.opts.monitorIntervalMs,
      relations,
      ...(at.host ? { host: at.host } : {}),
    });
    this.monitor.subscribe((s) => this.store.getState().pushSample(s));
    // Probe failures become notes inside samples; a lost connection is retried by the monitor.
    this.monitor.onError(() => {});
    this.monitor.start();
  }

  private lateIntents(): Intents {
    const notYet = () => this.notice('the runbook has not started yet');
    // The run's end says how to resume; the reason does not repeat it.
    const quitReason = 'the operator quit';
    return {
      decideGate: (id, answer) => void this.inkGates?.decide(id, answer),
      togglePause: () => (this.live ? this.live.togglePause() : notYet()),
      setBatchSize: (n) => (this.live ? this.live.setBatchSize(n) : notYet()),
      setPauseMs: (ms) => (this.live ? this.live.setPauseMs(ms) : notYet()),
      cancelOwnStatement: (pid) => (this.live ? this.live.cancelOwnStatement(pid) : notYet()),
      abort: () => (this.runner ? this.runner.abort('aborted by the operator') : this.stopWith('aborted by the operator')),
      quit: () => {
        this.runner?.interrupt(quitReason);
        this.opts.stop?.(quitReason);
      },
    };
  }
}
