// The runbook's `fleet:` section: how `pgrunbook fleet run` rolls the change over many databases.
// Waves (a count, a percent of the fleet, or the targets whose labels match), their pool size and
// failure limits, the soak time, the health check and the gate between waves. `fleet run` flags
// override it; `--waves` is read with the same wave schema.
import { z } from 'zod';
import { zDuration } from './durations.js';

/** A failure limit: halt when this many (or this share) of the targets failed. */
export type FailureLimit = { count: number } | { percent: number };

const LIMIT_HINT = 'a count (1) or a percent ("10%")';

export const failureLimitField = z
  .union([z.number(), z.string()], { error: LIMIT_HINT })
  .transform((raw, ctx): FailureLimit => {
    const text = String(raw).trim();
    const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
    const n = m ? Number(m[1]) : Number.NaN;
    if (m?.[2] === '%' && n > 0 && n <= 100) return { percent: n };
    if (!m?.[2] && Number.isInteger(n) && n >= 1) return { count: n };
    ctx.addIssue({
      code: 'custom',
      message: `bad limit ${JSON.stringify(raw)}: ${LIMIT_HINT}; a count is at least 1, a percent in (0, 100]`,
    });
    return z.NEVER;
  })
  .describe('Halt when this many targets failed (1), or this share of them ("10%").');

const GATES = ['confirm', 'none'] as const;
export type WaveGate = (typeof GATES)[number];

const labelValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const waveFields = {
  count: z.number().int().min(1).describe('This many targets, in the order of the targets list.'),
  percent: z.number().gt(0).max(100).describe('This share of the whole fleet (rounded up, at least one target).'),
  match: z
    .record(z.string(), z.union([labelValue, z.array(labelValue).min(1)]))
    .refine((m) => Object.keys(m).length > 0, 'give at least one label, e.g. {region: eu}')
    .transform((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])))
    .describe('Every remaining target whose labels have these values, e.g. {region: eu} or {region: [eu, uk]}.'),
  parallel: z.number().int().min(1).max(256).describe('Targets of this wave run at once (default 1).'),
  max_failures: failureLimitField.describe('Halt when this many (1) or this share ("10%") of the wave failed.'),
  soak: zDuration().describe('Wait this long after the wave before its health check (overrides fleet.soak).'),
  gate: z.enum(GATES).describe('After this wave: confirm (default: an operator or --yes approves the next wave) or none.'),
} as const;

export const waveSchema = z
  .strictObject({
    count: waveFields.count.optional(),
    percent: waveFields.percent.optional(),
    match: waveFields.match.optional(),
    parallel: waveFields.parallel.default(1),
    max_failures: waveFields.max_failures.optional(),
    soak: waveFields.soak.optional(),
    gate: waveFields.gate.optional(),
  })
  .refine((w) => [w.count, w.percent, w.match].filter((x) => x !== undefined).length === 1, 'give exactly one of count, percent or match');

export const healthSchema = z
  .strictObject({
    check: z.string().min(1).describe('SQL run on each target of the wave; it passes when its first row’s first column is true.'),
    max_lag: zDuration().describe('Fail when a standby of a target’s server is further behind than this (default 30s).'),
    max_lock_waits: z
      .number()
      .int()
      .min(0)
      .describe('Fail when more sessions than this wait for a lock on a target’s database (default 5).'),
    max_throttled: zDuration().describe('Fail when a target’s backfills were throttled longer than this in total (default: shown only).'),
    slow_factor: z.number().gt(1).describe('Fail when a step took more than this many times its projected time (default 3).'),
  })
  .partial();

export const fleetSectionSchema = z
  .strictObject({
    waves: z
      .array(waveSchema)
      .min(1, 'list at least one wave')
      .describe('Waves run one after the other; the last one must reach every target.'),
    max_failures: failureLimitField.describe('Halt the fleet when this many (1) or this share ("10%") of all targets failed (default 1).'),
    per_server: z.number().int().min(1).describe('At most this many runs at once on one server (host:port).'),
    soak: zDuration().describe('Wait this long after each wave before its health check (default 0).'),
    health: healthSchema.describe('The health check over a wave’s targets before the next wave starts.'),
    gate: z.enum(GATES).describe('Between waves: confirm (default) or none.'),
  })
  .partial()
  .describe('How `pgrunbook fleet run` rolls the runbook over many databases; fleet run flags override it.');

export type FleetSection = z.output<typeof fleetSectionSchema>;
export type HealthLimits = z.output<typeof healthSchema>;
