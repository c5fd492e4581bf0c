// Scales what each step took on the sample to the source's size, with a stated uncertainty.
//
// Each step gets a basis from what was observed (and predicted):
//   rows        backfills and row copies: time ∝ rows (source rows / sample rows)
//   rewrite     the table got new storage: time ∝ heap bytes
//   scan        a full read without a rewrite (VALIDATE, SET NOT NULL): time ∝ heap bytes
//   index-build time ∝ n·log n of the rows (the sort dominates)
//   constant    catalog-only changes: the sample's time as is
// The fixed cost every step pays (connections, planning, journaling, lock acquisition) does not
// scale: it is estimated as the time of the rehearsal's cheapest constant step (at most half of a step's
// time) and added unscaled.
import type { RehearsalProjection } from '../engine/events.js';
import { LOCK_STRENGTH, type LockMode } from '../steps/types.js';
import type { TableSample } from './clone.js';
import { normRel } from './names.js';
import type { PredictedLocks, StepTrace } from './types.js';

export type Basis = 'rows' | 'rewrite' | 'scan' | 'index-build' | 'constant';

export interface StepProjection {
  id: string;
  basis: Basis;
  table: string | null;
  factor: number;
  sampleSeconds: number;
  seconds: number;
  /** Relative uncertainty (0.25 = ±25%). */
  uncertainty: number;
  lowSeconds: number;
  highSeconds: number;
  locks: { relation: string; mode: string }[];
  rewrite: boolean;
}

export interface ProjectionInput {
  steps: StepTrace[];
  samples: Pick<TableSample, 'table' | 'sourceRows' | 'sourceBytes' | 'sampleRows' | 'sampleBytes'>[];
  /** Table whose size drives each step (normalized names), by step id. */
  stepTables: Map<string, string | null>;
  predictions: Map<string, PredictedLocks | null>;
}

const SCAN_KINDS = new Set(['not_null', 'add_check', 'add_foreign_key']);
const ROW_KINDS = new Set(['backfill', 'swap_table']);

export function basisOf(step: StepTrace, prediction: PredictedLocks | null | undefined): Basis {
  if (ROW_KINDS.has(step.kind) || step.rows !== null) return 'rows';
  if (step.rewrites.length > 0) return 'rewrite';
  switch (prediction?.work) {
    case 'rows':
      return 'rows';
    case 'rewrite':
      return 'rewrite';
    case 'scan':
      return 'scan';
    case 'index-build':
      return 'index-build';
  }
  if (step.kind === 'create_index' || Object.keys(step.indexPhases).length > 0) return 'index-build';
  if (SCAN_KINDS.has(step.kind) || prediction?.tableScan) return 'scan';
  return 'constant';
}

function cv(xs: number[]): number {
  if (xs.length < 2) return 0.2;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return mean > 0 ? sd / mean : 0.2;
}

export function projectSteps(input: ProjectionInput): StepProjection[] {
  const ran = input.steps.filter((s) => s.status === 'completed' || s.status === 'failed');
  const bases = new Map(ran.map((s) => [s.stepId, basisOf(s, input.predictions.get(s.stepId))]));
  // The cheapest catalog-only step is the best estimate of what every step pays regardless of size.
  const constant = ran.filter((s) => bases.get(s.stepId) === 'constant').map((s) => s.durationMs);
  const overheadMs = constant.length ? Math.min(...constant) : 0;
  return ran.map((s) => {
    const basis = bases.get(s.stepId)!;
    const table = input.stepTables.get(s.stepId) ?? null;
    const size = table ? input.samples.find((x) => normRel(x.table) === table) : undefined;
    const rowsRatio = size && size.sampleRows > 0 && size.sourceRows !== null ? size.sourceRows / size.sampleRows : 1;
    const bytesRatio = size && size.sampleBytes > 0 ? size.sourceBytes / size.sampleBytes : rowsRatio;
    let factor = 1;
    let u = 0.5;
    const extrapolation = (f: number) => 0.05 * Math.log10(Math.max(1, f));
    switch (basis) {
      case 'rows':
        factor = rowsRatio;
        u = 0.12 + cv(s.batchRates) / Math.sqrt(Math.max(1, s.batchRates.length)) + extrapolation(factor);
        break;
      case 'rewrite':
      case 'scan':
        factor = bytesRatio;
        u = 0.2 + extrapolation(factor);
        break;
      case 'index-build': {
        const n = size?.sampleRows ?? 0;
        const N = size?.sourceRows ?? n;
        factor = rowsRatio * (n > 1 && N > 1 ? Math.log2(N) / Math.log2(n) : 1);
        u = 0.25 + extrapolation(factor);
        break;
      }
      case 'constant':
        factor = 1;
        u = 0.5;
        break;
    }
    if (basis !== 'constant' && (size?.sampleRows ?? 0) < 1000) u += 0.3; // too few rows to time reliably
    const fixed = basis === 'constant' ? s.durationMs : Math.min(s.durationMs / 2, overheadMs);
    const ms = fixed + Math.max(0, s.durationMs - fixed) * factor;
    const locks = strongestFirst(s.locks.filter((l) => l.granted).map(({ relation, mode }) => ({ relation, mode })));
    const predicted = input.predictions.get(s.stepId);
    return {
      id: s.stepId,
      basis,
      table,
      factor,
      sampleSeconds: s.durationMs / 1000,
      seconds: ms / 1000,
      uncertainty: u,
      lowSeconds: (ms * Math.max(0, 1 - u)) / 1000,
      highSeconds: (ms * (1 + u)) / 1000,
      locks: locks.length ? locks : strongestFirst(predicted?.locks ?? []),
      rewrite: s.rewrites.length > 0,
    };
  });
}

function strongestFirst(locks: { relation: string; mode: string }[]): { relation: string; mode: string }[] {
  const seen = new Set<string>();
  return locks
    .filter((l) => {
      const k = `${l.relation}|${l.mode}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => (LOCK_STRENGTH[b.mode as LockMode] ?? 0) - (LOCK_STRENGTH[a.mode as LockMode] ?? 0));
}

/** The `rehearsal.projection` payload. Uncertainties add up linearly: errors of one machine are correlated. */
export function toProjection(steps: StepProjection[]): RehearsalProjection {
  const total = steps.reduce((a, s) => a + s.seconds, 0);
  const spread = steps.reduce((a, s) => a + s.seconds * s.uncertainty, 0);
  return {
    total_seconds: round(total),
    uncertainty: total > 0 ? round(spread / total) : 0,
    steps: steps.map((s) => ({
      id: s.id,
      seconds: round(s.seconds),
      low_seconds: round(s.lowSeconds),
      high_seconds: round(s.highSeconds),
      locks: s.locks,
      rewrite: s.rewrite,
      basis: s.basis,
    })),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
