// The fleet's front-end: the fleet view on a terminal (src/ui/fleet-view.tsx), plain or JSON lines
// otherwise. Each target's run goes through the one run wiring (RunWiring) like `run` does: the
// same gate port, store feed, intents, cancel pool and error wording; only its renderer (lines
// prefixed with the target) and its screen (the fleet view shows its store) are the fleet's.
import { currentIdentity } from '../engine/operator-identity.js';
import type { GateAnswer } from '../engine/gates.js';
import { type WaveGateDecision, type WaveGatePort, waveGateRequest } from '../fleet/fleet-gate.js';
import type { FleetEvent } from '../fleet/fleet-runner.js';
import { fleetRenderer, targetRenderer } from '../fleet/fleet-output.js';
import { stdoutWriter, type OutputMode } from '../render/output.js';
import type { FleetIntents } from '../ui/fleet-keys.js';
import { createFleetStore, type FleetStore } from '../ui/fleet-store.js';
import type { MountedUi } from '../ui/mount.js';
import { type AttachOptions, RunWiring, type WiredRunner } from './run-wiring.js';

export interface FleetWiringOptions {
  mode: OutputMode;
  policy: { yes: boolean; allowIrreversible: boolean };
  /** Stop launching new targets (the fleet runner's halt). */
  halt(reason: string): void;
  /** Where plain/JSON lines go (default: stdout). */
  write?(s: string): void;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  patchConsole?: boolean;
}

export class FleetWiring {
  readonly store: FleetStore = createFleetStore();
  readonly intents: FleetIntents;
  private writer?: (s: string) => void;
  private renderer?: (e: FleetEvent) => void;
  private ui?: MountedUi;
  private readonly active = new Map<string, { wiring: RunWiring; runner: WiredRunner }>();
  private pendingWaveGate?: { id: string; resolve(d: WaveGateDecision): void };

  constructor(private readonly opts: FleetWiringOptions) {
    this.intents = {
      togglePause: (name) => this.active.get(name)?.wiring.intents.togglePause(),
      togglePauseAll: () => this.pauseAll(!this.store.getState().pausedAll),
      abort: () => this.stop('aborted by the operator', 'abort'),
      quit: () => this.stop('the operator quit', 'interrupt'),
      decideWaveGate: (id, answer) => this.decideWaveGate(id, answer),
    };
  }

  /** The gate between waves in the fleet view: shown with its evidence, answered with the gate widget's keys. */
  readonly waveGate: WaveGatePort = (req) =>
    new Promise((resolve) => {
      const gate = waveGateRequest(req);
      this.pendingWaveGate?.resolve({ approved: false, by: 'fleet', reason: 'a newer gate replaced it' });
      this.pendingWaveGate = { id: gate.id, resolve };
      this.store.getState().setWaveGate(gate);
    });

  private decideWaveGate(id: string, answer: GateAnswer): void {
    const p = this.pendingWaveGate;
    if (!p || p.id !== id) return;
    this.pendingWaveGate = undefined;
    this.store.getState().setWaveGate(undefined);
    const by = `operator ${currentIdentity().user}`;
    p.resolve(answer.approved ? { approved: true, by } : { approved: false, by, reason: answer.reason ?? 'declined' });
  }

  get interactive(): boolean {
    return this.opts.mode === 'ink';
  }

  /** Mounts the fleet view, or opens stdout for the fleet's lines. Idempotent. */
  async show(): Promise<void> {
    if (this.ui || this.writer) return;
    if (!this.interactive) {
      this.writer = this.opts.write ?? stdoutWriter(() => this.opts.halt('stdout was closed'));
      this.renderer = fleetRenderer(this.opts.mode === 'json' ? 'json' : 'plain', this.writer);
      return;
    }
    const [{ mountElement }, { FleetView }, { createElement }] = await Promise.all([
      import('../ui/mount.js'),
      import('../ui/fleet-view.js'),
      import('react'),
    ]);
    this.ui = mountElement(createElement(FleetView, { store: this.store, intents: this.intents, monitored: true }), {
      stdout: this.opts.stdout,
      stdin: this.opts.stdin,
      patchConsole: this.opts.patchConsole,
      onOutputClosed: (reason) => this.stop(reason, 'interrupt'),
    });
  }

  /** The fleet runner's events: to the view's store and the fleet's lines. */
  readonly emit = (e: FleetEvent): void => {
    this.store.getState().dispatch(e);
    this.renderer?.(e);
  };

  /** A target's run wiring: give its `gates` to the runner, then `attach`. */
  target(name: string): RunWiring {
    const mode = this.opts.mode;
    return new RunWiring({
      mode,
      policy: this.opts.policy,
      // With --yes no target stops to ask; without it, a gate waits in the target's screen.
      policyGates: this.opts.policy.yes,
      hostScreen: true,
      monitor: false,
      write: this.writer,
      renderer: (write) => targetRenderer(mode === 'json' ? 'json' : 'plain', name, write),
    });
  }

  /** Connects a target's runner: the view reads its store, the fleet's keys reach it. */
  async attach(name: string, wiring: RunWiring, runner: WiredRunner, at: AttachOptions): Promise<void> {
    await wiring.attach(runner, at);
    this.active.set(name, { wiring, runner });
    this.store.getState().attachRun(name, {
      store: wiring.store,
      intents: wiring.intents,
      watch: (on) => void wiring.watch(on),
    });
    if (this.store.getState().pausedAll) runner.pause();
  }

  /** The target's run ended: its cancel pool closes; the view keeps its store to look at. */
  async release(name: string): Promise<void> {
    const a = this.active.get(name);
    this.active.delete(name);
    await a?.wiring.close();
  }

  /** Halts the fleet and stops every running target: aborted now, or interrupted at a safe point. */
  stop(reason: string, how: 'abort' | 'interrupt'): void {
    this.opts.halt(reason);
    if (this.pendingWaveGate) this.decideWaveGate(this.pendingWaveGate.id, { approved: false, reason });
    for (const { runner } of this.active.values()) runner[how](reason);
  }

  /** Unmounts the view; its last frame stays on the terminal. */
  async close(): Promise<void> {
    for (const name of [...this.active.keys()]) await this.release(name);
    this.ui?.unmount();
  }

  private pauseAll(on: boolean): void {
    this.store.getState().setPausedAll(on);
    for (const { runner } of this.active.values()) {
      if (on) runner.pause();
      else runner.unpause();
    }
  }
}
