// Runs one runbook over many targets in waves: a bounded pool per wave (and optionally per server),
// each target a normal run through the port it is given, the halt rules, and between waves the
// soak, health check and gate (fleet-gate.ts). On a halt nothing new starts; runs already going end
// as their own runs end (each is resumable on its own database).
import pLimit from 'p-limit';
import { type BetweenWaves, type BetweenWavesEvent, betweenWaves } from './fleet-gate.js';
import type { RunStats } from './fleet-health.js';
import { describeLimit, limitReached, type FailureLimit, type Wave } from './fleet-waves.js';
import type { FleetTarget } from './fleet-targets.js';

export type TargetStatus = 'completed' | 'failed' | 'aborted' | 'interrupted' | 'locked';

export interface TargetResult {
  status: TargetStatus;
  runId?: string;
  /** Why it did not complete, already redacted. */
  reason?: string;
  /** Step times and throttle time of the run, for the health check after its wave. */
  stats?: RunStats;
}

/**
 * What the fleet tells its listeners (plain/JSON output, the fleet view, the report). Between two
 * waves (fleet-gate.ts): `fleet.soak.started` {wave, durationMs}; `fleet.health.started` {wave,
 * targets}; `fleet.health.checked` {wave, ok, items: [{name, ok, detail, targets}]};
 * `fleet.gate.requested` {wave, nextWave, nextTargets, health}; `fleet.gate.decided` {wave,
 * nextWave, approved, by, reason?}. A failed health check or a refused gate then halts the fleet.
 */
export type FleetEvent =
  | { type: 'fleet.started'; targets: number; waves: { wave: number; label?: string; targets: number; parallel: number }[] }
  | { type: 'fleet.wave.started'; wave: number; targets: string[]; parallel: number }
  | { type: 'fleet.target.started'; target: string; wave: number }
  | { type: 'fleet.target.skipped'; target: string; wave: number; runId?: string }
  | ({ type: 'fleet.target.finished'; target: string; wave: number } & TargetResult)
  | { type: 'fleet.wave.finished'; wave: number; completed: number; failed: number; durationMs: number }
  | { type: 'fleet.halted'; reason: string; failed: { target: string; reason: string }[]; notStarted: string[] }
  /** Every wave ran; `failed` targets failed without reaching a halt rule's limit. */
  | { type: 'fleet.completed'; targets: number; failed: number; durationMs: number }
  | BetweenWavesEvent;

export interface FleetOptions {
  waves: Wave<FleetTarget>[];
  /** Runs one target to its end; must not throw (a throw counts as a failure with its message). */
  runTarget: (target: FleetTarget) => Promise<TargetResult>;
  /** Halt rule over the whole fleet (default: the first failure halts). */
  maxFailures?: FailureLimit;
  /** At most this many runs at once on one server (key from serverOf). */
  perServer?: number;
  serverOf?: (target: FleetTarget) => string;
  /** Targets already completed (a resumed fleet): counted as done, never run again. */
  done?: Map<string, TargetResult>;
  emit: (e: FleetEvent) => void;
  now?: () => number;
  /** Soak, health check and gate between waves; without it the next wave starts at once. */
  between?: BetweenWaves;
}

export interface FleetOutcome {
  status: 'completed' | 'halted';
  haltReason?: string;
  results: Map<string, TargetResult>;
}

export class FleetRunner {
  private readonly results = new Map<string, TargetResult>();
  private haltReason?: string;
  private readonly serverPools = new Map<string, ReturnType<typeof pLimit>>();
  private readonly now: () => number;
  private readonly stop = new AbortController();

  constructor(private readonly opts: FleetOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Stop launching (a signal, the operator): running targets end as their runs end. */
  halt(reason: string): void {
    this.haltReason ??= reason;
    this.stop.abort(new Error(reason));
  }

  async run(): Promise<FleetOutcome> {
    const { waves, emit } = this.opts;
    const started = this.now();
    const total = waves.reduce((n, w) => n + w.targets.length, 0);
    emit({
      type: 'fleet.started',
      targets: total,
      waves: waves.map((w) => ({ wave: w.index, label: w.label, targets: w.targets.length, parallel: w.parallel })),
    });
    for (const wave of waves) {
      if (this.haltReason) break;
      const ranNow = await this.runWave(wave, total);
      if (this.haltReason || !this.opts.between || wave.index === waves.length) continue;
      const nextStarted = waves[wave.index]!.targets.some((t) => this.opts.done?.has(t.name));
      const out = { results: this.results, ranNow, nextStarted };
      const why = await betweenWaves(this.opts.between, waves, wave, out, emit, this.stop.signal);
      if (why) this.halt(why);
    }
    if (this.haltReason) {
      const failed = [...this.results]
        .filter(([, r]) => r.status !== 'completed')
        .map(([target, r]) => ({ target, reason: r.reason ?? r.status }));
      const notStarted = waves.flatMap((w) => w.targets.map((t) => t.name)).filter((n) => !this.results.has(n));
      emit({ type: 'fleet.halted', reason: this.haltReason, failed, notStarted });
      return { status: 'halted', haltReason: this.haltReason, results: this.results };
    }
    const failed = [...this.results.values()].filter((r) => r.status !== 'completed').length;
    emit({ type: 'fleet.completed', targets: total, failed, durationMs: this.now() - started });
    return { status: 'completed', results: this.results };
  }

  /** Runs a wave; true when any of its targets ran in this life (not all completed before). */
  private async runWave(wave: Wave<FleetTarget>, total: number): Promise<boolean> {
    const { emit } = this.opts;
    const started = this.now();
    emit({ type: 'fleet.wave.started', wave: wave.index, targets: wave.targets.map((t) => t.name), parallel: wave.parallel });
    const pool = pLimit(wave.parallel);
    let failed = 0;
    let ran = false;
    const one = async (t: FleetTarget) => {
      if (this.haltReason) return;
      const done = this.opts.done?.get(t.name);
      if (done) {
        this.results.set(t.name, done);
        emit({ type: 'fleet.target.skipped', target: t.name, wave: wave.index, runId: done.runId });
        return;
      }
      ran = true;
      emit({ type: 'fleet.target.started', target: t.name, wave: wave.index });
      const r = await this.runOne(t);
      this.results.set(t.name, r);
      const { stats: _, ...shown } = r;
      emit({ type: 'fleet.target.finished', target: t.name, wave: wave.index, ...shown });
      if (r.status === 'completed') return;
      failed++;
      this.checkLimits(wave, failed, total);
    };
    await Promise.all(wave.targets.map((t) => pool(() => this.onServer(t, () => one(t)))));
    const completed = wave.targets.filter((t) => this.results.get(t.name)?.status === 'completed').length;
    emit({ type: 'fleet.wave.finished', wave: wave.index, completed, failed, durationMs: this.now() - started });
    return ran;
  }

  private checkLimits(wave: Wave<FleetTarget>, waveFailed: number, total: number): void {
    const overall = [...this.results.values()].filter((r) => r.status !== 'completed').length;
    const fleetLimit = this.opts.maxFailures ?? { count: 1 };
    if (wave.maxFailures && limitReached(wave.maxFailures, waveFailed, wave.targets.length)) {
      this.halt(
        `wave ${wave.index}: ${waveFailed} of ${wave.targets.length} targets failed (max_failures ${describeLimit(wave.maxFailures)})`,
      );
    } else if (limitReached(fleetLimit, overall, total)) {
      this.halt(`${overall} of ${total} targets failed (fleet max_failures ${describeLimit(fleetLimit)})`);
    }
  }

  private async runOne(t: FleetTarget): Promise<TargetResult> {
    try {
      return await this.opts.runTarget(t);
    } catch (err) {
      return { status: 'failed', reason: (err as Error).message };
    }
  }

  private onServer<R>(t: FleetTarget, fn: () => Promise<R>): Promise<R> {
    const { perServer, serverOf } = this.opts;
    if (!perServer || !serverOf) return fn();
    const key = serverOf(t);
    let pool = this.serverPools.get(key);
    if (!pool) this.serverPools.set(key, (pool = pLimit(perServer)));
    return pool(fn);
  }
}
