// The `rehearse` step kind: the test phase of a runbook rehearses its own deploy and rollback on a
// sandbox, reading the target only.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { loadOrThrow } from '../support/runbook.js';
import { makeTestStepContext } from '../support/step-context.js';
import { seedOrders, sourceFingerprint, useSourceDatabase } from '../rehearsal/support.js';

// The kind as the composition root wires it: the real rehearsal and report writer.
const rehearseStep = STEP_KINDS.get('rehearse')!;
const FIXTURE = fileURLToPath(new URL('../rehearsal/fixtures/add-column-sql.yaml', import.meta.url));

describe('rehearse step kind', () => {
  const src = useSourceDatabase((q) => seedOrders(q, 20_000));

  it('validates its params and plans nothing on the target', async () => {
    expect(rehearseStep.schema.safeParse({ sample: '10%', sandbox: 'embedded' }).success).toBe(true);
    expect(rehearseStep.schema.safeParse(null).success).toBe(true);
    expect(rehearseStep.schema.safeParse({ sample: 0 }).success).toBe(false);
    expect(rehearseStep.schema.safeParse({ bogus: 1 }).success).toBe(false);
    expect(rehearseStep.schema.safeParse({ sample_method: 'tablesample' }).success).toBe(true);
    expect(rehearseStep.schema.safeParse({ sample_method: 'random' }).success).toBe(false);
    const runbook = await loadOrThrow(FIXTURE);
    const step = runbook.phases.test[0]!;
    const plan = await rehearseStep.plan(step as never, { runbook });
    expect(plan.statements).toEqual([]);
    expect(plan.locks).toEqual([]);
  });

  it('rehearses the runbook’s deploy and rollback and emits the projection', async () => {
    const runbook = await loadOrThrow(FIXTURE);
    const step = runbook.phases.test[0]!;
    const before = await sourceFingerprint(src.query);
    const ctx = await makeTestStepContext({ url: src.url, step, runbook });
    try {
      const result = (await rehearseStep.apply(step as never, ctx)) as {
        deploy: string;
        rollback_verified: boolean;
        projected_seconds: number;
      };
      expect(result.deploy).toBe('completed');
      expect(result.rollback_verified).toBe(true);
      expect(result.projected_seconds).toBeGreaterThan(0);
      const proj = ctx.events.find((e) => e.type === 'rehearsal.projection');
      expect(proj && proj.type === 'rehearsal.projection' && proj.projection.steps.map((s) => s.id)).toEqual([
        'add_col',
        'fill',
        'nn',
        'idx',
      ]);
      expect(ctx.events.some((e) => e.type === 'step.log' && /sandbox deploy\/add_col done/.test(e.message))).toBe(true);
      const evidence = await rehearseStep.verify!(step as never, ctx);
      expect(evidence.find((e) => e.label.startsWith('rollback verified'))?.ok).toBe(true);
    } finally {
      await ctx.close();
    }
    expect(await sourceFingerprint(src.query)).toEqual(before);
  });

  it('passes sample_method to the clone', async () => {
    const runbook = await loadOrThrow(FIXTURE);
    const base = runbook.phases.test[0]!;
    const step = { ...base, params: { ...(base.params as object), sample_method: 'tablesample' } };
    const ctx = await makeTestStepContext({ url: src.url, step, runbook });
    try {
      await rehearseStep.apply(step as never, ctx);
      const copied = ctx.events
        .filter((e) => e.type === 'step.log' && /orders: \d+ row\(s\)/.test(e.message))
        .map((e) => (e as { message: string }).message);
      expect(copied).toEqual([expect.stringMatching(/\((system|bernoulli)\)$/)]);
    } finally {
      await ctx.close();
    }
  });
});
