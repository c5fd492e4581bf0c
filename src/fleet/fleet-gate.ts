// Between two waves: the soak, the health check over the finished wave's targets, then the gate
// before the next wave. A failing health check halts the fleet without asking anyone; a `confirm`
// gate is approved by --yes, by an operator at a terminal, or else refused (the fleet halts and
// `fleet resume --yes` continues it). Each step is an event (FleetEvent in fleet-runner.ts).
import { createInterface } from 'node:readline/promises';
import type { GateRequest } from '../engine/gates.js';
import { formatDuration } from '../runbook/durations.js';
import type { Clock } from '../util/clock.js';
import type { FleetTarget } from './fleet-targets.js';
import { type HealthReport, judgeWave, projectStepTimes, type RunStats, type TargetProbe } from './fleet-health.js';
import type { Wave } from './fleet-waves.js';

export interface WaveGateRequest {
  wave: number;
  nextWave: number;
  nextTargets: string[];
  health: HealthReport;
}

export interface WaveGateDecision {
  approved: boolean;
  /** Who or what decided: "--yes", "operator alice", "gate: none", "no operator". */
  by: string;
  reason?: string;
}

export type WaveGatePort = (req: WaveGateRequest) => Promise<WaveGateDecision>;

/** What FleetRunner needs between waves. */
export interface BetweenWaves {
  clock: Clock;
  probe: (target: FleetTarget) => Promise<TargetProbe>;
  gate: WaveGatePort;
}

/** Events of the time between waves; part of FleetEvent. */
export type BetweenWavesEvent =
  | { type: 'fleet.soak.started'; wave: number; durationMs: number }
  | { type: 'fleet.health.started'; wave: number; targets: string[] }
  | ({ type: 'fleet.health.checked' } & HealthReport)
  | ({ type: 'fleet.gate.requested' } & WaveGateRequest)
  | ({ type: 'fleet.gate.decided'; wave: number; nextWave: number } & WaveGateDecision);

export interface WaveOutcome {
  results: Map<string, { status: string; reason?: string; stats?: RunStats }>;
  /** Targets of this wave that ran in this life of the fleet (not completed before a resume). */
  ranNow: boolean;
  /** A target of the next wave completed before: the gate was passed in an earlier life. */
  nextStarted: boolean;
}

/**
 * Soak, health check, gate after `wave`; resolves to a halt reason, or undefined to go on. A wave
 * that ran wholly before a resume is not soaked again; its gate is skipped once the next wave began.
 */
export async function betweenWaves(
  b: BetweenWaves,
  waves: Wave<FleetTarget>[],
  wave: Wave<FleetTarget>,
  out: WaveOutcome,
  emit: (e: BetweenWavesEvent) => void,
  signal: AbortSignal,
): Promise<string | undefined> {
  const next = waves[wave.index]!;
  if (!out.ranNow && out.nextStarted) return undefined;
  if (out.ranNow && wave.soakMs > 0) {
    emit({ type: 'fleet.soak.started', wave: wave.index, durationMs: wave.soakMs });
    try {
      await b.clock.sleep(wave.soakMs, signal);
    } catch {
      return undefined; // halted during the soak: the halt names its own reason
    }
  }
  const names = wave.targets.map((t) => t.name);
  emit({ type: 'fleet.health.started', wave: wave.index, targets: names });
  const probes = new Map(await Promise.all(wave.targets.map(async (t) => [t.name, await b.probe(t)] as const)));
  const earlier = waves.slice(0, wave.index - 1).flatMap((w) => w.targets.map((t) => out.results.get(t.name)?.stats));
  const health = judgeWave(
    {
      wave: wave.index,
      targets: names,
      failed: names.flatMap((n) => {
        const r = out.results.get(n);
        return r && r.status !== 'completed' ? [{ target: n, reason: r.reason ?? r.status }] : [];
      }),
      stats: new Map(names.flatMap((n) => (out.results.get(n)?.stats ? [[n, out.results.get(n)!.stats!] as const] : []))),
      probes,
      projected: projectStepTimes(earlier.filter((s): s is RunStats => !!s)),
    },
    wave.health,
  );
  emit({ type: 'fleet.health.checked', ...health });
  if (!health.ok) {
    const bad = health.items.filter((i) => !i.ok);
    return `wave ${wave.index}'s health check failed: ${bad.map((i) => `${i.name} (${i.targets.join(', ')})`).join('; ')}`;
  }
  if (signal.aborted) return undefined;
  const request: WaveGateRequest = { wave: wave.index, nextWave: next.index, nextTargets: next.targets.map((t) => t.name), health };
  let decision: WaveGateDecision;
  if (wave.gate === 'none') decision = { approved: true, by: 'gate: none' };
  else {
    emit({ type: 'fleet.gate.requested', ...request });
    decision = await b.gate(request);
  }
  emit({ type: 'fleet.gate.decided', wave: wave.index, nextWave: next.index, ...decision });
  if (decision.approved) return undefined;
  return `the gate before wave ${next.index} was not approved (${decision.by}${decision.reason ? `: ${decision.reason}` : ''})`;
}

/**
 * The gate for runs without the fleet view: --yes approves; an operator at a terminal is asked;
 * with neither the gate is refused and says how to continue.
 */
export function policyWaveGate(opts: { yes: boolean; ask?: (req: WaveGateRequest) => Promise<boolean> }): WaveGatePort {
  return async (req) => {
    if (opts.yes) return { approved: true, by: '--yes' };
    if (opts.ask) {
      const ok = await opts.ask(req);
      return ok ? { approved: true, by: 'operator' } : { approved: false, by: 'operator', reason: 'refused at the prompt' };
    }
    return {
      approved: false,
      by: 'no operator',
      reason: 'a confirm gate needs --yes or a terminal; continue with `pgrunbook fleet resume --yes` once the evidence is acceptable',
    };
  };
}

/**
 * The gate between waves as a run gate, for the gate widget of the fleet view: the finished wave's
 * health check is its evidence; declining halts the fleet, and `fleet resume` asks again.
 */
export function waveGateRequest(req: WaveGateRequest): GateRequest {
  const shown = req.nextTargets.slice(0, 5).join(', ') + (req.nextTargets.length > 5 ? `, … ${req.nextTargets.length - 5} more` : '');
  return {
    id: `wave-${req.nextWave}`,
    stepId: `wave ${req.nextWave}`,
    level: 'confirm',
    title: `Start wave ${req.nextWave}? Wave ${req.wave} passed its health check`,
    action:
      `starts wave ${req.nextWave} on ${req.nextTargets.length} target${req.nextTargets.length === 1 ? '' : 's'} (${shown}). ` +
      'Declining halts the fleet; `pgrunbook fleet resume` asks again.',
    evidence: req.health.items.map((i) => ({ label: `wave ${req.wave} ${i.name}`, value: i.detail, ok: i.ok })),
  };
}

/** Asks at a terminal, after the evidence was printed: y starts the next wave, anything else halts. */
export function terminalAsk(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): (req: WaveGateRequest) => Promise<boolean> {
  return async (req) => {
    const rl = createInterface({ input, output, terminal: false });
    try {
      const answer = await rl.question(`fleet start wave ${req.nextWave} (${req.nextTargets.length} targets)? [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  };
}

/** Plain lines for the events above (fleet-output.ts prefixes "fleet "). */
export function betweenWavesText(e: BetweenWavesEvent): string {
  switch (e.type) {
    case 'fleet.soak.started':
      return `wave ${e.wave}: soaking ${formatDuration(e.durationMs)} before the health check`;
    case 'fleet.health.started':
      return `wave ${e.wave}: health check of ${e.targets.length} targets`;
    case 'fleet.health.checked':
      return [
        `wave ${e.wave} health: ${e.ok ? 'ok' : 'FAILED'}`,
        ...e.items.map((i) => `  ${i.ok ? 'ok  ' : 'FAIL'} ${i.name}: ${i.detail}`),
      ].join('\n');
    case 'fleet.gate.requested':
      return `gate before wave ${e.nextWave} (${e.nextTargets.length} targets: ${e.nextTargets.join(', ')})`;
    case 'fleet.gate.decided':
      return `gate before wave ${e.nextWave}: ${e.approved ? 'approved' : 'NOT approved'} by ${e.by}${e.reason ? `: ${e.reason}` : ''}`;
  }
}
