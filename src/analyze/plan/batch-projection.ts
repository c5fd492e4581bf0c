// How long the batch engine takes over a table, from a few timed sample batches: a batch costs a
// fixed part (the round trip that opens it, planning, the commit) plus a part per key of its range,
// fitted on samples of two sizes. The number of batches comes from the engine's own tuner, fed the
// modelled batch times, so the projection sizes batches as the real run does (aim, growth cap,
// fixed cost included), instead of assuming the cost of one sample's rows scales alone.
import type { BackfillConfig } from '../../backfill/params.js';
import type { BatchCostSample } from '../../backfill/time-one-batch.js';
import { BatchTuner } from '../../backfill/tuner.js';

/** The samples' times (ms) per batch size, leaving out batches that found no keys. */
function msBySize(s: BatchCostSample): Map<number, number[]> {
  const bySize = new Map<number, number[]>();
  for (const x of s.samples) if (x.keys > 0) bySize.set(x.keys, [...(bySize.get(x.keys) ?? []), x.ms]);
  return bySize;
}

/** The largest ratio of the slowest to the fastest sample of one size: how much contention the samples met. */
export function sampleSpread(s: BatchCostSample): number {
  return Math.max(1, ...[...msBySize(s).values()].map((ms) => Math.max(...ms) / Math.max(0.001, Math.min(...ms))));
}

export interface BatchCost {
  /** Per batch, ms: the opening round trip plus the statement's own fixed part. */
  fixedMs: number;
  perKeyMs: number;
  /** How the two were obtained, in words. */
  fit: string;
}

type Knobs = Pick<BackfillConfig, 'fixedBatchSize' | 'initialBatchSize' | 'minBatchSize' | 'maxBatchSize' | 'targetBatchMs' | 'pauseMs'>;

/** Which sample of each size a fit uses: the fastest (the machine unloaded), the median (as it is now), the slowest. */
export type SamplePick = 'fastest' | 'median' | 'slowest';

const PICK: Record<SamplePick, (ms: number[]) => number> = {
  fastest: (ms) => Math.min(...ms),
  median: (ms) => [...ms].sort((a, b) => a - b)[Math.floor((ms.length - 1) / 2)]!,
  slowest: (ms) => Math.max(...ms),
};

/**
 * Fits fixed + per-key cost on the samples (by default the fastest of each size; the median and the
 * slowest bound a band by the contention the samples met); falls back to per key alone when the
 * sizes do not separate them.
 */
export function fitBatchCost(s: BatchCostSample, pick: SamplePick = 'fastest'): BatchCost | undefined {
  const points = [...msBySize(s)].map(([keys, ms]) => ({ keys, ms: PICK[pick](ms) })).sort((a, b) => a.keys - b.keys);
  if (points.length === 0) return undefined;
  const small = points[0]!;
  const large = points[points.length - 1]!;
  const slope = large.keys > small.keys ? (large.ms - small.ms) / (large.keys - small.keys) : Number.NaN;
  const intercept = small.ms - slope * small.keys;
  if (slope > 0 && intercept >= 0)
    return {
      fixedMs: s.openMs + intercept,
      perKeyMs: slope,
      fit: `${fmtMs(intercept)} fixed + ${fmtUs(slope)} per key, fitted on ${fmtSizes(points)}`,
    };
  // Noise (a larger batch no slower, or a negative intercept): the larger sample's cost per key, no fixed part.
  return {
    fixedMs: s.openMs,
    perKeyMs: large.ms / large.keys,
    fit: `${fmtUs(large.ms / large.keys)} per key from ${fmtSizes([large])} (the sizes did not separate a fixed part)`,
  };
}

export interface BatchProjection {
  ms: number;
  batches: number;
  /** The size the tuner settles at. */
  size: number;
  pausesMs: number;
}

/** Runs the engine's tuner over `keys` keys with the modelled batch times (no throttling: nobody waits in the model). */
export function projectBatches(cost: BatchCost, knobs: Knobs, keys: number): BatchProjection {
  const tuner = new BatchTuner({
    initial: knobs.initialBatchSize,
    min: knobs.minBatchSize,
    max: knobs.maxBatchSize,
    targetMs: knobs.targetBatchMs,
  });
  const batchMs = (k: number) => cost.fixedMs + cost.perKeyMs * k;
  let left = Math.max(0, Math.round(keys));
  let ms = 0;
  let batches = 0;
  let size = knobs.fixedBatchSize ?? tuner.size;
  let steady = 0;
  while (left > 0) {
    const was = size;
    size = Math.max(1, knobs.fixedBatchSize ?? tuner.size);
    steady = size === was ? steady + 1 : 0;
    if (steady >= 20) {
      // Settled: the rest is whole batches of this size and one short one.
      const full = Math.floor(left / size);
      ms += full * batchMs(size) + (left % size ? batchMs(left % size) : 0);
      batches += full + (left % size ? 1 : 0);
      break;
    }
    const k = Math.min(size, left);
    const t = batchMs(k);
    ms += t;
    batches++;
    left -= k;
    if (knobs.fixedBatchSize === undefined) tuner.observe(k, t);
  }
  const pausesMs = Math.max(0, batches - 1) * knobs.pauseMs;
  return { ms: ms + pausesMs, batches, size, pausesMs };
}

function fmtMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function fmtUs(ms: number): string {
  const us = ms * 1000;
  return `${us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : Math.round(us)} µs`;
}

function fmtSizes(points: { keys: number; ms: number }[]): string {
  return points.map((p) => `${p.keys.toLocaleString('en-US')} keys in ${fmtMs(p.ms)}`).join(' and ');
}
