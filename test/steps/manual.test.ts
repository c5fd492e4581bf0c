import { afterEach, describe, expect, it } from 'vitest';
import { PolicyGates, type GateDecision, type GatePort, type GateRequest } from '../../src/engine/gates.js';
import { manualKind, type ManualParams } from '../../src/steps/manual.js';
import { makeRunbook, makeStep, makeTestStepContext, type TestStepContext } from '../support/step-context.js';
import { useTestDatabase } from '../support/pg.js';

const db = useTestDatabase();
let ctx: TestStepContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

const params: ManualParams = { instructions: 'Pause the nightly export job.', checklist: ['Export job paused', 'Team told in #ops'] };

class Recorder implements GatePort {
  requests: GateRequest[] = [];
  constructor(private readonly decision: GateDecision) {}
  async request(req: GateRequest): Promise<GateDecision> {
    this.requests.push(req);
    return this.decision;
  }
}

describe('manual step', () => {
  it('asks through the gate port with the checklist as evidence', async () => {
    const gates = new Recorder({ approved: true, by: 'alice' });
    const step = makeStep('manual', params, { title: 'Pause exports' });
    ctx = await makeTestStepContext({ url: db.url, step, gates });
    expect(await manualKind.verify!(step, ctx)).toEqual([
      { label: 'Export job paused', value: false },
      { label: 'Team told in #ops', value: false },
    ]);
    expect(await manualKind.apply(step, ctx)).toEqual({ confirmedBy: 'alice', checklist: params.checklist });
    expect(gates.requests).toEqual([
      expect.objectContaining({
        level: 'confirm',
        stepId: step.id,
        title: 'Pause exports',
        action: params.instructions,
        evidence: expect.any(Array),
      }),
    ]);
    expect(gates.requests[0]!.evidence.map((e) => e.label)).toEqual(params.checklist);
    expect(ctx.events.find((e) => e.type === 'step.log')).toMatchObject({ message: params.instructions });
    expect((await manualKind.verify!(step, ctx)).every((e) => e.value === true)).toBe(true);
  });

  it('in a non-interactive run the policy decides', async () => {
    const step = makeStep('manual', params);
    ctx = await makeTestStepContext({ url: db.url, step, gates: new PolicyGates({ yes: false, allowIrreversible: false, user: 'ci' }) });
    await expect(manualKind.apply(step, ctx)).rejects.toThrow(
      /manual step not confirmed: confirm gate in a non-interactive run: pass --yes/,
    );
    await ctx.close();
    ctx = await makeTestStepContext({ url: db.url, step, gates: new PolicyGates({ yes: true, allowIrreversible: false, user: 'ci' }) });
    expect(await manualKind.apply(step, ctx)).toMatchObject({ confirmedBy: 'ci (--yes)' });
  });

  it('does not ask twice when the runbook sets a gate on the step', async () => {
    const gates = new Recorder({ approved: true, by: 'alice' });
    const step = makeStep('manual', params, { gate: 'confirm' });
    ctx = await makeTestStepContext({ url: db.url, step, gates });
    await manualKind.apply(step, ctx);
    expect(gates.requests).toEqual([]);
  });

  it('plans no SQL and leaves the default gate to itself', async () => {
    const step = makeStep('manual', params);
    const plan = await manualKind.plan(step, { runbook: makeRunbook([step]) });
    expect(plan.statements).toEqual([]);
    expect(plan.notes).toContain('[ ] Export job paused');
    expect(manualKind.defaultGate!(step, plan)).toBe('none');
  });
});
