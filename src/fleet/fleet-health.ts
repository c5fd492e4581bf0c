// The health check between waves: what the finished wave's runs did (failed runs, steps slower than
// projected, throttle time) and how its targets are now (replication lag, lock waits, the runbook's
// `check` query), judged against the `fleet.health` limits. A failing item halts the fleet; every
// item is shown at the gate as evidence.
import type { RunEvent } from '../engine/events.js';
import { formatMs } from '../util/units.js';
import type { HealthThresholds } from './fleet-waves.js';

/** What one target's run did, collected from its events. */
export interface RunStats {
  /** Completed steps with how long each took. */
  steps: { id: string; ms: number }[];
  /** Time its backfills spent throttled. */
  throttledMs: number;
}

/** One target's server and database now (fleet-health-probe.ts). */
export interface TargetProbe {
  /** Seconds the furthest standby of its server is behind; null without (visible) standbys. */
  lagSeconds: number | null;
  /** Sessions of its database waiting for a lock now. */
  lockWaits: number | null;
  /** The runbook's `fleet.health.check` query, when it has one. */
  check?: { ok: boolean; detail: string };
  /** The probe could not connect or query: said here, and the target counts as unhealthy. */
  error?: string;
}

export type HealthItemName = 'failed runs' | 'slow steps' | 'throttle time' | 'replication lag' | 'lock waits' | 'check' | 'probe';

export interface HealthItem {
  name: HealthItemName;
  ok: boolean;
  /** One line for the operator, with the figures and the limit. */
  detail: string;
  /** The targets this item is about (failing ones when it failed). */
  targets: string[];
}

export interface HealthReport {
  wave: number;
  ok: boolean;
  items: HealthItem[];
}

export const HEALTH_DEFAULTS = { maxLagMs: 30_000, maxLockWaits: 5, slowFactor: 3 } as const;
/** Steps shorter than this are not judged against their projection (noise). */
const SLOW_FLOOR_MS = 1000;

/** Collects a target's step times and throttle time from its run events. */
export function runStatsListener(now: () => number = Date.now): { stats: RunStats; listener: (e: RunEvent) => void } {
  const stats: RunStats = { steps: [], throttledMs: 0 };
  const throttledSince = new Map<string, number>();
  const listener = (e: RunEvent) => {
    if (e.type === 'step.completed') stats.steps.push({ id: e.stepId, ms: e.durationMs });
    else if (e.type === 'step.throttle') {
      const since = throttledSince.get(e.stepId);
      if (e.reason && since === undefined) throttledSince.set(e.stepId, now());
      else if (!e.reason && since !== undefined) {
        stats.throttledMs += now() - since;
        throttledSince.delete(e.stepId);
      }
    }
  };
  return { stats, listener };
}

/** Each step's projected time: the median of what it took on the targets of earlier waves. */
export function projectStepTimes(earlier: RunStats[]): Map<string, number> {
  const byStep = new Map<string, number[]>();
  for (const s of earlier) for (const st of s.steps) byStep.set(st.id, [...(byStep.get(st.id) ?? []), st.ms]);
  const out = new Map<string, number>();
  for (const [id, ms] of byStep) {
    const sorted = [...ms].sort((a, b) => a - b);
    out.set(id, sorted[Math.floor((sorted.length - 1) / 2)]!);
  }
  return out;
}

export interface WaveFacts {
  wave: number;
  targets: string[];
  /** Targets of the wave that did not complete, with why. */
  failed: { target: string; reason: string }[];
  stats: Map<string, RunStats>;
  probes: Map<string, TargetProbe>;
  /** From projectStepTimes over earlier waves; empty for the first wave. */
  projected: Map<string, number>;
}

/** The verdict over a finished wave. Failed runs are shown, not judged here: the halt rules did. */
export function judgeWave(f: WaveFacts, limits: HealthThresholds): HealthReport {
  const items: HealthItem[] = [
    {
      name: 'failed runs',
      ok: true,
      detail: f.failed.length
        ? `${f.failed.length} of ${f.targets.length} failed (within max_failures): ${f.failed.map((x) => `${x.target}: ${x.reason}`).join('; ')}`
        : `none of ${f.targets.length}`,
      targets: f.failed.map((x) => x.target),
    },
    slowSteps(f, limits.slow_factor ?? HEALTH_DEFAULTS.slowFactor),
    throttle(f, limits.max_throttled),
    ...probeItems(f, limits),
  ];
  return { wave: f.wave, ok: items.every((i) => i.ok), items };
}

function slowSteps(f: WaveFacts, factor: number): HealthItem {
  if (f.projected.size === 0) return { name: 'slow steps', ok: true, detail: 'no projection yet (the first wave sets it)', targets: [] };
  const slow: string[] = [];
  const lines: string[] = [];
  for (const [target, s] of f.stats) {
    for (const st of s.steps) {
      const p = f.projected.get(st.id);
      if (p === undefined || st.ms < SLOW_FLOOR_MS || st.ms <= p * factor) continue;
      if (!slow.includes(target)) slow.push(target);
      lines.push(`${target} ${st.id} ${formatMs(st.ms)} (projected ${formatMs(p)})`);
    }
  }
  return {
    name: 'slow steps',
    ok: slow.length === 0,
    detail: slow.length
      ? `over ${factor}× the earlier waves' median: ${lines.join('; ')}`
      : `every step within ${factor}× the earlier waves' median`,
    targets: slow,
  };
}

function throttle(f: WaveFacts, maxMs: number | undefined): HealthItem {
  const per = [...f.stats].filter(([, s]) => s.throttledMs > 0).sort((a, b) => b[1].throttledMs - a[1].throttledMs);
  const over = maxMs === undefined ? [] : per.filter(([, s]) => s.throttledMs > maxMs).map(([t]) => t);
  const limit = maxMs === undefined ? '' : ` (limit ${formatMs(maxMs)})`;
  return {
    name: 'throttle time',
    ok: over.length === 0,
    detail: per.length ? `${per.map(([t, s]) => `${t} ${formatMs(s.throttledMs)}`).join(', ')}${limit}` : `none${limit}`,
    targets: over.length ? over : per.map(([t]) => t),
  };
}

function probeItems(f: WaveFacts, limits: HealthThresholds): HealthItem[] {
  const probes = [...f.probes];
  const maxLag = limits.max_lag ?? HEALTH_DEFAULTS.maxLagMs;
  const maxWaits = limits.max_lock_waits ?? HEALTH_DEFAULTS.maxLockWaits;
  const errors = probes.filter(([, p]) => p.error);
  const lagged = probes.filter(([, p]) => p.lagSeconds !== null && p.lagSeconds * 1000 > maxLag);
  const lagMax = Math.max(...probes.map(([, p]) => p.lagSeconds ?? 0), 0);
  const waiting = probes.filter(([, p]) => (p.lockWaits ?? 0) > maxWaits);
  const waitsMax = Math.max(...probes.map(([, p]) => p.lockWaits ?? 0), 0);
  const checks = probes.filter(([, p]) => p.check);
  const failedChecks = checks.filter(([, p]) => !p.check!.ok);
  const items: HealthItem[] = [
    {
      name: 'replication lag',
      ok: lagged.length === 0,
      detail: `${lagged.length ? `${lagged.map(([t, p]) => `${t} ${p.lagSeconds!.toFixed(1)}s`).join(', ')}` : `at most ${lagMax.toFixed(1)}s`} (limit ${formatMs(maxLag)})`,
      targets: lagged.map(([t]) => t),
    },
    {
      name: 'lock waits',
      ok: waiting.length === 0,
      detail: `${waiting.length ? waiting.map(([t, p]) => `${t} ${p.lockWaits} waiting`).join(', ') : `at most ${waitsMax} sessions waiting`} (limit ${maxWaits})`,
      targets: waiting.map(([t]) => t),
    },
  ];
  if (checks.length)
    items.push({
      name: 'check',
      ok: failedChecks.length === 0,
      detail: failedChecks.length
        ? `failed on ${failedChecks.length} of ${checks.length}: ${failedChecks.map(([t, p]) => `${t}: ${p.check!.detail}`).join('; ')}`
        : `true on all ${checks.length}`,
      targets: failedChecks.map(([t]) => t),
    });
  if (errors.length)
    items.push({
      name: 'probe',
      ok: false,
      detail: `could not read ${errors.map(([t, p]) => `${t}: ${p.error}`).join('; ')}`,
      targets: errors.map(([t]) => t),
    });
  return items;
}
