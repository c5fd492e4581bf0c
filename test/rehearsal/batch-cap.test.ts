// The sandbox's backfills on a sampled table get batches of at most 5% of the sample (never under
// the engine's first batch); the operator's own smaller limits and unsampled tables stay as they are.
import { describe, expect, it } from 'vitest';
import { capSandboxBatches, MIN_BATCH_CAP, SAMPLE_BATCH_SHARE } from '../../src/rehearsal/batch-cap.js';
import type { Runbook, StepSpec } from '../../src/runbook/model.js';

const step = (id: string, kind: string, params: Record<string, unknown>): StepSpec =>
  ({ id, phase: 'deploy', kind, params, settings: {}, pos: { line: 1, col: 1 } }) as unknown as StepSpec;

const runbook = (steps: StepSpec[]): Runbook =>
  ({
    version: 1,
    name: 'r',
    vars: {},
    settings: {},
    phases: { plan: [], test: [], deploy: steps, monitor: [], rollback: [] },
    file: 'r.yaml',
    source: '',
  }) as unknown as Runbook;

describe('capSandboxBatches', () => {
  const samples = [
    { table: 'orders', sourceRows: 1_000_000, sampleRows: 100_000 },
    { table: 'small', sourceRows: 500, sampleRows: 500 },
    { table: 'tiny_sample', sourceRows: 100_000, sampleRows: 1_000 },
  ];

  it('caps a sampled table’s backfill at 5% of the sample, leaving everything else as written', () => {
    const rb = runbook([
      step('add', 'add_column', { table: 'orders', column: 'x', type: 'int' }),
      step('fill', 'backfill', { table: 'public.orders', set: 'x = 1' }),
      step('fixed', 'backfill', { table: 'orders', set: 'x = 1', batch_size: 20_000 }),
      step('own_max', 'backfill', { table: 'orders', set: 'x = 1', max_batch_size: 2_000 }),
      step('whole', 'backfill', { table: 'small', set: 'x = 1' }),
      step('floor', 'backfill', { table: 'tiny_sample', set: 'x = 1' }),
    ]);
    const { runbook: capped, caps } = capSandboxBatches(rb, samples);
    const params = (id: string) => capped.phases.deploy.find((s) => s.id === id)!.params as Record<string, unknown>;
    const cap = 100_000 * SAMPLE_BATCH_SHARE;
    expect(params('fill')).toEqual({ table: 'public.orders', set: 'x = 1', max_batch_size: cap });
    expect(params('fixed')).toMatchObject({ batch_size: cap, max_batch_size: cap });
    expect(params('own_max')).toEqual({ table: 'orders', set: 'x = 1', max_batch_size: 2_000 });
    expect(params('whole')).toEqual({ table: 'small', set: 'x = 1' });
    expect(params('floor')).toMatchObject({ max_batch_size: MIN_BATCH_CAP });
    expect(params('add')).toEqual({ table: 'orders', column: 'x', type: 'int' });
    expect(caps.map((c) => [c.stepId, c.cap])).toEqual([
      ['fill', cap],
      ['fixed', cap],
      ['floor', MIN_BATCH_CAP],
    ]);
    // The operator's runbook itself is not changed.
    expect(rb.phases.deploy[1]!.params).toEqual({ table: 'public.orders', set: 'x = 1' });
  });
});
