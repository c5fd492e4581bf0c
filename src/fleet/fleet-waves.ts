// Waves: the targets split into groups run one after the other, each with its own pool size and
// failure limit, and what happens after it (soak, health check, gate). `{count: N}` takes the next
// N targets, `{percent: P}` P% of the whole fleet (rounded up, at least one), `{match: {region:
// eu}}` every remaining target with those labels; the last wave must reach the end of the list.
import { parse } from 'yaml';
import { z } from 'zod';
import {
  type FailureLimit,
  failureLimitField,
  type FleetSection,
  type HealthLimits,
  type WaveGate,
  waveSchema,
} from '../runbook/fleet-section.js';
import { InputError } from '../util/runbook-error.js';

export type { FailureLimit } from '../runbook/fleet-section.js';

/** The health limits a wave is judged by; the `check` query comes from each target's runbook. */
export type HealthThresholds = Omit<HealthLimits, 'check'>;

export interface WaveSpec {
  count?: number;
  percent?: number;
  /** Label name -> accepted values. */
  match?: Record<string, string[]>;
  parallel: number;
  maxFailures?: FailureLimit;
  /** After this wave, before the next: soak, health check, gate. */
  soakMs?: number;
  gate?: WaveGate;
  health?: HealthThresholds;
}

export interface Wave<T> {
  index: number;
  /** How the wave was chosen, for the operator: "1 target", "10%", "region=eu". */
  label: string;
  targets: T[];
  parallel: number;
  maxFailures?: FailureLimit;
  soakMs: number;
  gate: WaveGate;
  health: HealthThresholds;
}

export const DEFAULT_WAVES: WaveSpec[] = [
  { count: 1, parallel: 1 },
  { percent: 100, parallel: 4 },
];

/** A failure limit from `3` or `"10%"`. */
export function parseLimit(raw: unknown, what: string): FailureLimit {
  const r = failureLimitField.safeParse(raw);
  if (!r.success) throw new InputError(`${what} "${String(raw)}": ${r.error.issues[0]!.message}`, 'for example 1, or "10%"');
  return r.data;
}

/** Wave specs from the `--waves` flag: YAML or JSON, e.g. `[{count: 1}, {match: {region: eu}, parallel: 8}]`. */
export function parseWaves(text: string, what = '--waves'): WaveSpec[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new InputError(
      `${what}: ${(err as Error).message.split('\n')[0]}`,
      'for example --waves "[{count: 1}, {percent: 100, parallel: 8}]"',
    );
  }
  const r = z.array(waveSchema).min(1, 'list at least one wave').safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const field = i.path.length > 1 ? `${i.path.slice(1).join('.')}: ` : '';
    throw new InputError(
      `${what}: ${i.path.length ? `wave ${Number(i.path[0]) + 1}: ` : ''}${field}${i.message}`,
      'each wave is {count: N}, {percent: P} or {match: {label: value}}, with optional parallel, max_failures, soak and gate',
    );
  }
  return r.data.map(specOf);
}

function specOf(w: z.output<typeof waveSchema>): WaveSpec {
  return {
    ...(w.count !== undefined ? { count: w.count } : {}),
    ...(w.percent !== undefined ? { percent: w.percent } : {}),
    ...(w.match !== undefined ? { match: w.match } : {}),
    parallel: w.parallel,
    ...(w.max_failures ? { maxFailures: w.max_failures } : {}),
    ...(w.soak !== undefined ? { soakMs: w.soak } : {}),
    ...(w.gate ? { gate: w.gate } : {}),
  };
}

/** What the command line gave; each one overrides the runbook's `fleet:` section. */
export interface WaveFlags {
  waves?: WaveSpec[];
  maxFailures?: FailureLimit;
  perServer?: number;
  soakMs?: number;
  gate?: WaveGate;
}

/** The fleet's waves and limits: flags over the runbook's `fleet:` section over the defaults. */
export function resolveWaves(
  section: FleetSection | undefined,
  flags: WaveFlags,
): { waves: WaveSpec[]; maxFailures: FailureLimit; perServer?: number } {
  const { check: _, ...health } = section?.health ?? {};
  const base = flags.waves ?? section?.waves?.map(specOf) ?? DEFAULT_WAVES;
  const waves = base.map((w) => ({
    ...w,
    soakMs: flags.soakMs ?? w.soakMs ?? section?.soak ?? 0,
    gate: flags.gate ?? w.gate ?? section?.gate ?? 'confirm',
    health,
  }));
  const perServer = flags.perServer ?? section?.per_server;
  return { waves, maxFailures: flags.maxFailures ?? section?.max_failures ?? { count: 1 }, ...(perServer ? { perServer } : {}) };
}

const noLabels = (t: unknown): Record<string, string> => (t as { labels?: Record<string, string> }).labels ?? {};

/** Splits the targets into waves; the waves must cover every target, and a label wave must match one. */
export function planWaves<T>(targets: T[], specs: WaveSpec[], labelsOf: (t: T) => Record<string, string> = noLabels): Wave<T>[] {
  const waves: Wave<T>[] = [];
  let remaining = [...targets];
  for (const spec of specs) {
    if (remaining.length === 0) break;
    let slice: T[];
    if (spec.match) {
      const match = spec.match;
      slice = remaining.filter((t) => Object.entries(match).every(([k, vs]) => vs.includes(labelsOf(t)[k] ?? '')));
      if (slice.length === 0)
        throw new InputError(
          `wave ${waves.length + 1} (${matchLabel(match)}) matches none of the ${remaining.length} targets left for it`,
          'check the labels in the targets file, or drop that wave',
        );
    } else {
      const size = spec.count ?? Math.max(1, Math.ceil(((spec.percent ?? 100) / 100) * targets.length));
      slice = remaining.slice(0, size);
    }
    remaining = remaining.filter((t) => !slice.includes(t));
    waves.push({
      index: waves.length + 1,
      label: spec.match ? matchLabel(spec.match) : spec.count !== undefined ? `${spec.count} targets` : `${spec.percent}%`,
      targets: slice,
      parallel: spec.parallel,
      maxFailures: spec.maxFailures,
      soakMs: spec.soakMs ?? 0,
      gate: spec.gate ?? 'confirm',
      health: spec.health ?? {},
    });
  }
  if (remaining.length > 0) {
    throw new InputError(
      `the waves cover ${targets.length - remaining.length} of ${targets.length} targets`,
      'end the waves with {percent: 100} so the last wave takes every remaining target',
    );
  }
  return waves;
}

function matchLabel(match: Record<string, string[]>): string {
  return Object.entries(match)
    .map(([k, vs]) => `${k}=${vs.join('|')}`)
    .join(', ');
}

/** Whether `failed` of `size` targets reaches the limit. */
export function limitReached(limit: FailureLimit, failed: number, size: number): boolean {
  if ('count' in limit) return failed >= limit.count;
  return size > 0 && (failed * 100) / size >= limit.percent;
}

export function describeLimit(limit: FailureLimit): string {
  return 'count' in limit ? String(limit.count) : `${limit.percent}%`;
}
