// Waves: the targets split in order into groups run one after the other, each with its own pool
// size and failure limit. `{count: N}` takes N targets, `{percent: P}` takes P% of the whole fleet
// (rounded up, at least one); the last wave must reach the end of the list.
import { parse } from 'yaml';
import { z } from 'zod';
import { InputError } from '../util/runbook-error.js';

/** A failure limit: halt when this many (or this share) of the targets failed. */
export type FailureLimit = { count: number } | { percent: number };

export interface WaveSpec {
  count?: number;
  percent?: number;
  parallel: number;
  maxFailures?: FailureLimit;
}

export interface Wave<T> {
  index: number;
  targets: T[];
  parallel: number;
  maxFailures?: FailureLimit;
}

export const DEFAULT_WAVES: WaveSpec[] = [
  { count: 1, parallel: 1 },
  { percent: 100, parallel: 4 },
];

const limitSchema = z.union([
  z.number().int().min(1),
  z
    .string()
    .regex(/^\d+(\.\d+)?%$/, 'a count (1) or a percent ("10%")')
    .transform((s) => Number(s.slice(0, -1)))
    .refine((p) => p > 0 && p <= 100, 'a percent in (0, 100]'),
]);

const waveSchema = z
  .object({
    count: z.number().int().min(1).optional(),
    percent: z.number().gt(0).max(100).optional(),
    parallel: z.number().int().min(1).max(256).default(1),
    max_failures: z.union([z.number(), z.string()]).optional(),
  })
  .strict()
  .refine((w) => (w.count === undefined) !== (w.percent === undefined), 'give exactly one of count or percent');

/** A failure limit from `3` or `"10%"`. */
export function parseLimit(raw: unknown, what: string): FailureLimit {
  const r = limitSchema.safeParse(typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw);
  if (!r.success) throw new InputError(`${what} "${String(raw)}": ${r.error.issues[0]!.message}`, 'for example 1, or "10%"');
  return typeof raw === 'string' && raw.endsWith('%') ? { percent: r.data } : { count: r.data };
}

/** Wave specs from the `--waves` flag: YAML or JSON, e.g. `[{count: 1}, {percent: 100, parallel: 8}]`. */
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
  const r = z.array(waveSchema).min(1).safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(
      `${what}: ${i.path.length ? `wave ${Number(i.path[0]) + 1}: ` : ''}${i.message}`,
      'each wave is {count: N} or {percent: P}, with optional parallel and max_failures',
    );
  }
  return r.data.map((w, i) => ({
    count: w.count,
    percent: w.percent,
    parallel: w.parallel,
    maxFailures: w.max_failures === undefined ? undefined : parseLimit(w.max_failures, `${what}: wave ${i + 1}: max_failures`),
  }));
}

/** Splits the targets into waves in order; the waves must cover every target. */
export function planWaves<T>(targets: T[], specs: WaveSpec[]): Wave<T>[] {
  const waves: Wave<T>[] = [];
  let at = 0;
  for (const spec of specs) {
    if (at >= targets.length) break;
    const size = spec.count ?? Math.max(1, Math.ceil(((spec.percent ?? 100) / 100) * targets.length));
    const slice = targets.slice(at, at + size);
    at += slice.length;
    waves.push({ index: waves.length + 1, targets: slice, parallel: spec.parallel, maxFailures: spec.maxFailures });
  }
  if (at < targets.length) {
    throw new InputError(
      `the waves cover ${at} of ${targets.length} targets`,
      'end the waves with {percent: 100} so the last wave takes every remaining target',
    );
  }
  return waves;
}

/** Whether `failed` of `size` targets reaches the limit. */
export function limitReached(limit: FailureLimit, failed: number, size: number): boolean {
  if ('count' in limit) return failed >= limit.count;
  return size > 0 && (failed * 100) / size >= limit.percent;
}

export function describeLimit(limit: FailureLimit): string {
  return 'count' in limit ? String(limit.count) : `${limit.percent}%`;
}
