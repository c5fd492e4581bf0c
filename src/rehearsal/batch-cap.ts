// Backfill batches in the sandbox stay a small share of the sample, as they are of the source.
//
// The engine tunes a batch by time, so on the sample it reaches about the size it reaches on the
// source: 0.5% of a 1M-row table is 5% of a 10% sample. Where an index key repeats, that changes
// what the index costs. A batch adds one entry per row to every leaf page it touches, and the old
// versions' entries can only be deleted once the batch has committed; a btree leaf page built by
// CREATE INDEX keeps 10% free (fillfactor 90). A batch that covers more than that share of the
// table overflows its leaf pages before anything can be freed, so they split instead: cheaper per
// row, and a regime the source, whose batches are a far smaller share of it, never enters. The
// tuner then finds batches cheap, grows them (up to 2x a batch) and the sample settles there.
// Measured (by hand while building this, the bench's table, whole key groups at 10%, fixed batch sizes):
// per-row cost 0.81x the source's at 2k–6k rows a batch, 1.08x at 9k, 0.42x at 13k; in the bench,
// sandbox backfills that the tuner grew past ~10k rows projected 0.56–0.75x the real run, the rest
// 0.9–1.1x. So the sandbox's batches are capped at half the leaf pages' free share of the sample
// (5%), never below the engine's first batch.
import type { Runbook, StepSpec } from '../runbook/model.js';
import { normRel } from './relation-names.js';

/** Share of the sample one sandbox batch may cover: half the free space of a btree leaf at fillfactor 90. */
export const SAMPLE_BATCH_SHARE = 0.05;
/** The engine's first batch: a cap never goes below it. */
export const MIN_BATCH_CAP = 1000;

export interface BatchCap {
  stepId: string;
  table: string;
  cap: number;
  sampleRows: number;
}

/**
 * The runbook the sandbox runs: every backfill on a sampled table gets max_batch_size (and a fixed
 * batch_size) of at most SAMPLE_BATCH_SHARE of the sample's rows. Returns the caps it set.
 */
export function capSandboxBatches(
  runbook: Runbook,
  samples: { table: string; sourceRows: number | null; sampleRows: number }[],
): { runbook: Runbook; caps: BatchCap[] } {
  const caps: BatchCap[] = [];
  const capStep = (step: StepSpec): StepSpec => {
    if (step.kind !== 'backfill') return step;
    const p = step.params as { table?: unknown; batch_size?: unknown; max_batch_size?: unknown };
    if (typeof p.table !== 'string') return step;
    const table = normRel(p.table);
    const s = samples.find((x) => normRel(x.table) === table);
    if (!s || s.sourceRows === null || s.sampleRows <= 0 || s.sampleRows >= s.sourceRows) return step;
    const cap = Math.max(MIN_BATCH_CAP, Math.round(s.sampleRows * SAMPLE_BATCH_SHARE));
    const params: Record<string, unknown> = { ...(step.params as Record<string, unknown>) };
    const max = typeof p.max_batch_size === 'number' ? p.max_batch_size : Infinity;
    if (max <= cap && !(typeof p.batch_size === 'number' && p.batch_size > cap)) return step;
    params.max_batch_size = Math.min(max, cap);
    if (typeof p.batch_size === 'number' && p.batch_size > cap) params.batch_size = cap;
    caps.push({ stepId: step.id, table, cap: Math.min(max, cap), sampleRows: s.sampleRows });
    return { ...step, params };
  };
  const phases = Object.fromEntries(
    Object.entries(runbook.phases).map(([phase, steps]) => [phase, steps.map(capStep)]),
  ) as Runbook['phases'];
  return { runbook: { ...runbook, phases }, caps };
}
