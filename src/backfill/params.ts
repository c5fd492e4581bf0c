// The `backfill` step's keys and their defaults. The schema's output is also valid input (numbers
// stay numbers, durations become milliseconds), so parsing twice is harmless: the kind re-parses
// params it gets from tests or from the loader alike.
import { z } from 'zod';
import { zDuration } from '../runbook/durations.js';
import type { CopySpec } from './copy-sql.js';
import type { WorkersSetting } from './second-worker-policy.js';

/** Values arrive after `{{ var }}` rendering, so numbers may be strings ("2000"). */
const num = (inner: z.ZodNumber) => z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), inner);

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** Bytes: a number, or `64MB`, `1GB`, `512kB`. */
export function parseBytes(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b)?\s*$/i.exec(v);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!);
}

const zBytes = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^\s*\d+(\.\d+)?\s*([kKmMgGtT]?[bB])?\s*$/, 'write bytes like 64MB, 1GB or a plain number'),
  ])
  .transform((v, ctx) => {
    const b = parseBytes(v);
    if (b === undefined) {
      ctx.issues.push({ code: 'custom', message: `bad size ${JSON.stringify(v)}: write 64MB, 1GB or a number of bytes`, input: v });
      return z.NEVER;
    }
    return b;
  });

/** Bytes per second: `50MB/s` (a bare size or number is read per second too). */
const zBytesPerSec = z.union([
  z.number().nonnegative(),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*([kKmMgGtT]?[bB])?\s*(\/\s*s)?\s*$/, 'write a rate like 50MB/s')
    .transform((v) => parseBytes(v.replace(/\/\s*s\s*$/, ''))!),
]);

/** A percentage: `85%` or a number (85); 0 = off. */
const zPercent = z
  .union([z.number().min(0).max(100), z.string().regex(/^\s*\d+(\.\d+)?\s*%\s*$/, 'a percentage such as 85%')])
  .transform((v) => (typeof v === 'number' ? v : Number.parseFloat(v)))
  .refine((v) => v <= 100, 'a percentage is at most 100%');

export const throttleSchema = z
  .strictObject({
    replication_lag_bytes: zBytes
      .optional()
      .describe('Hold batches while any standby replays more than this many bytes behind (default 256MB).'),
    replication_lag: zDuration().optional().describe('Hold batches while any standby replay_lag exceeds this (default 5s).'),
    blocked_sessions: num(z.number().int().min(0))
      .optional()
      .describe('Back off when this many sessions wait on locks our batch holds (default 1; 0 = off).'),
    batch_time_factor: num(z.number().min(1))
      .optional()
      .describe('Back off when a batch takes more than this many times target_batch_time (default 3).'),
    app_latency: z
      .union([z.number().min(0), z.string().regex(/^\s*\d+(\.\d+)?\s*x\s*$/, 'a factor such as 1.5x')])
      .transform((v) => (typeof v === 'number' ? v : Number.parseFloat(v)))
      .refine((v) => v === 0 || v > 1, 'app_latency must be above 1x (or 0 = off)')
      .optional()
      .describe(
        "Slow down when the application's mean latency on the touched tables (pg_stat_statements) rises past this factor of its baseline, e.g. 1.5x (default 1.5x; 0 = off).",
      ),
    wal_rate: zBytesPerSec
      .optional()
      .describe(
        'Stretch the gaps between batches while the server writes WAL faster than this (pg_stat_wal), e.g. 50MB/s (default 50MB/s; 0 = off).',
      ),
    checkpoint_pressure: z
      .union([z.literal(false), zDuration()])
      .optional()
      .describe(
        'Run batches at half duty while checkpoints are being requested (WAL fills max_wal_size), until none was for this long (default 1m; false or 0 = off).',
      ),
    host_cpu: zPercent
      .optional()
      .describe(
        "Slow batches down while the database host's CPU is busier than this: the share of time they run follows how far over it the host is (node_exporter or Prometheus; only with --node-exporter or --prometheus), e.g. 85% (default 85%; 0 = off).",
      ),
    io_wait: zPercent
      .optional()
      .describe(
        'Run batches at half duty while the database host spends more than this share of CPU time waiting on I/O (only with --node-exporter or --prometheus), e.g. 20% (default 20%; 0 = off).',
      ),
    probe_interval: zDuration({ positive: true }).optional().describe('How often the throttle probes run (default 1s).'),
    probe_timeout: zDuration({ positive: true }).optional().describe('statement_timeout of each probe (default 250ms).'),
  })
  .describe('Throttle signals and their limits; `false` turns every probe off.');

/** Main-pass workers, each on its own key range: 1, 2 or auto (rendered strings too). */
export const zWorkers = z.preprocess(
  (v) => (typeof v === 'string' && /^\s*[12]\s*$/.test(v) ? Number(v) : v),
  z.union([z.literal(1), z.literal(2), z.literal('auto')], { error: 'workers is 1, 2 or auto' }),
);

export const backfillSchema = z
  .strictObject({
    table: z.string().trim().min(1).describe('Table to update, optionally schema-qualified. It must have a primary key.'),
    set: z.string().trim().min(1).describe('SQL assignments, as after UPDATE .. SET (e.g. `amount_cents = (amount * 100)::bigint`).'),
    where: z.string().trim().min(1).optional().describe('SQL condition: only rows matching it are updated (e.g. `amount_cents IS NULL`).'),
    batch_size: num(z.number().int().min(1).max(1_000_000))
      .optional()
      .describe('Fixed rows per batch. Leave it out to let the engine tune the size toward target_batch_time.'),
    max_batch_size: num(z.number().int().min(1).max(1_000_000))
      .optional()
      .describe('Upper limit for the tuned batch size (default 100000).'),
    target_batch_time: zDuration({ positive: true })
      .optional()
      .describe('How long a batch transaction (and its row locks) should last at most; the tuner aims at 60% of it (default 100ms).'),
    pause: zDuration().optional().describe('Sleep between batches (default 0: none unless a throttle signal asks).'),
    lock_timeout: zDuration({ positive: true })
      .optional()
      .describe('Longest a batch waits for a row or table lock before it steps around it (default 50ms).'),
    statement_timeout: zDuration({ positive: true })
      .optional()
      .describe('Cancels a runaway batch, which is then retried smaller (default 30s).'),
    min_throughput: num(z.number().min(0).max(1))
      .optional()
      .describe('Throttle when throughput falls below this fraction of what the first batches achieved (default 0.1; 0 = off).'),
    throttle: z.union([z.literal(false), throttleSchema]).optional(),
    workers: zWorkers
      .optional()
      .describe(
        'Batch workers in the main pass, each on its own key range: 1, 2, or auto (default): a second worker is added on a large table while no throttle rule is active and a core is spare (with a host endpoint: the host CPU plus one core within host_cpu; without one: no other session of the database running statements), and kept only if the two together are at least 1.15x faster.',
      ),
  })
  .describe('Keyset-batched UPDATE with an exactly-once cursor, auto-tuned batch size and throttling.');

export type BackfillParams = z.input<typeof backfillSchema>;

export interface ThrottleConfig {
  enabled: boolean;
  replicationLagBytes: number;
  replicationLagMs: number;
  /** 0 = off. */
  blockedSessions: number;
  batchTimeFactor: number;
  /** Factor over the baseline mean latency; 0 = off. */
  appLatencyFactor: number;
  /** Set by the runbook rather than by default: a missing pg_stat_statements is a warning then. */
  appLatencyExplicit: boolean;
  /** WAL bytes per second; 0 = off. */
  walRateBytes: number;
  /** wal_rate is the default: it applies only while a standby, a slot or the archive takes the WAL. */
  walRateByDefault: boolean;
  /** Half duty this long after the last requested checkpoint; 0 = off. */
  checkpointPressureMs: number;
  /** The runbook set wal_rate or checkpoint_pressure: missing statistics are a warning then. */
  walCheckpointExplicit: boolean;
  /** Host CPU busy percent (host-rules.ts); 0 = off. Applies only when the run has a host endpoint. */
  hostCpuPct: number;
  /** Host I/O wait percent; 0 = off. */
  ioWaitPct: number;
  /** The runbook set host_cpu or io_wait: a missing endpoint is a warning then. */
  hostExplicit: boolean;
  probeIntervalMs: number;
  probeTimeoutMs: number;
}

export interface BackfillConfig {
  table: string;
  set: string;
  where?: string;
  /** Fixed size from the runbook; undefined = auto-tune. */
  fixedBatchSize?: number;
  initialBatchSize: number;
  minBatchSize: number;
  maxBatchSize: number;
  targetBatchMs: number;
  pauseMs: number;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  /** 0 = off. */
  minThroughput: number;
  throttle: ThrottleConfig;
  /** Insert each batch's rows into another table instead of updating them (swap_table's copy). */
  copy?: CopySpec;
  /** Delete each batch's rows (matching `where`) instead of updating them (batched_delete). */
  deleteRows?: boolean;
  /** Passes over keys added above the start bound (default 3); 0 when a trigger already carries new rows. */
  catchupRounds?: number;
  /** How messages name the work (default `backfill of <schema.table>`). */
  title?: string;
  /** Main-pass workers (second-worker-policy.ts); absent = 1 (swap_table's copy, batched_delete). */
  workers?: WorkersSetting;
}

export const DEFAULTS = {
  initialBatchSize: 1000,
  minBatchSize: 10,
  maxBatchSize: 100_000,
  targetBatchMs: 100,
  lockTimeoutMs: 50,
  statementTimeoutMs: 30_000,
  minThroughput: 0.1,
  replicationLagBytes: 256 * 1024 ** 2,
  replicationLagMs: 5000,
  blockedSessions: 1,
  batchTimeFactor: 3,
  appLatencyFactor: 1.5,
  walRateBytes: 50 * 1024 ** 2,
  checkpointPressureMs: 60_000,
  hostCpuPct: 85,
  ioWaitPct: 20,
  probeIntervalMs: 1000,
  probeTimeoutMs: 250,
} as const;

/** Parses (or re-parses) step params and fills the defaults. Throws a ZodError on bad input. */
export function resolveConfig(params: unknown): BackfillConfig {
  const p = backfillSchema.parse(params);
  return { table: p.table, set: p.set, where: p.where, ...batchKnobs(p), workers: p.workers ?? 'auto' };
}

/** The batch sizing, timeouts and throttle keys a step may set, shared with swap_table's copy. */
export const batchKnobsShape = backfillSchema.pick({
  batch_size: true,
  max_batch_size: true,
  target_batch_time: true,
  pause: true,
  lock_timeout: true,
  statement_timeout: true,
  min_throughput: true,
  throttle: true,
}).shape;

type BatchKnobs = z.output<z.ZodObject<typeof batchKnobsShape>>;

/** The engine's settings from already parsed knobs, defaults filled in. */
export function batchKnobs(p: BatchKnobs): Omit<BackfillConfig, 'table' | 'set' | 'where'> {
  const t = p.throttle === false ? undefined : p.throttle;
  const maxBatchSize = p.max_batch_size ?? Math.max(DEFAULTS.maxBatchSize, p.batch_size ?? 0);
  return {
    fixedBatchSize: p.batch_size,
    initialBatchSize: Math.min(p.batch_size ?? DEFAULTS.initialBatchSize, maxBatchSize),
    minBatchSize: Math.min(DEFAULTS.minBatchSize, maxBatchSize),
    maxBatchSize,
    targetBatchMs: p.target_batch_time ?? DEFAULTS.targetBatchMs,
    pauseMs: p.pause ?? 0,
    lockTimeoutMs: p.lock_timeout ?? DEFAULTS.lockTimeoutMs,
    statementTimeoutMs: p.statement_timeout ?? DEFAULTS.statementTimeoutMs,
    minThroughput: p.min_throughput ?? DEFAULTS.minThroughput,
    throttle: {
      enabled: p.throttle !== false,
      replicationLagBytes: t?.replication_lag_bytes ?? DEFAULTS.replicationLagBytes,
      replicationLagMs: t?.replication_lag ?? DEFAULTS.replicationLagMs,
      blockedSessions: t?.blocked_sessions ?? DEFAULTS.blockedSessions,
      batchTimeFactor: t?.batch_time_factor ?? DEFAULTS.batchTimeFactor,
      appLatencyFactor: t?.app_latency ?? DEFAULTS.appLatencyFactor,
      appLatencyExplicit: t?.app_latency !== undefined,
      walRateBytes: t?.wal_rate ?? DEFAULTS.walRateBytes,
      walRateByDefault: t?.wal_rate === undefined,
      checkpointPressureMs: t?.checkpoint_pressure === false ? 0 : (t?.checkpoint_pressure ?? DEFAULTS.checkpointPressureMs),
      walCheckpointExplicit: t?.wal_rate !== undefined || t?.checkpoint_pressure !== undefined,
      hostCpuPct: t?.host_cpu ?? DEFAULTS.hostCpuPct,
      ioWaitPct: t?.io_wait ?? DEFAULTS.ioWaitPct,
      hostExplicit: t?.host_cpu !== undefined || t?.io_wait !== undefined,
      probeIntervalMs: t?.probe_interval ?? DEFAULTS.probeIntervalMs,
      probeTimeoutMs: t?.probe_timeout ?? DEFAULTS.probeTimeoutMs,
    },
  };
}
