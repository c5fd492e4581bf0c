// Runner logic with fake step kinds; run state lives in a real PostgreSQL (the journal is SQL).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestDatabase } from '../support/pg.js';
import { makeRunbook, makeStep } from '../support/step-context.js';
import { runRunbook } from '../support/runbook.js';
import type { StepKind, StepPlan } from '../../src/engine/step-kind.js';
import type { GateDecision, GatePort, GateRequest } from '../../src/engine/gates.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { gateLevel } from '../../src/engine/gate-level.js';

interface RecParams {
  fail?: boolean;
  reversible?: boolean;
  exclusive?: boolean;
  hang?: boolean;
}

function recorder() {
  const calls: string[] = [];
  let hangStarted: () => void = () => {};
  const hanging = new Promise<void>((r) => (hangStarted = r));
  const kind: StepKind<RecParams> = {
    kind: 'rec',
    schema: z.any(),
    plan: (step): StepPlan => ({
      statements: [{ sql: `-- ${step.id}`, transactional: true }],
      locks: step.params.exclusive ? [{ relation: 'orders', mode: 'AccessExclusiveLock' }] : [],
      reversible: step.params.reversible ?? true,
      notes: [],
    }),
    async apply(step, ctx) {
      calls.push(`apply:${step.id}`);
      await ctx.state.set({ did: step.id });
      if (step.params.hang) {
        hangStarted();
        await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
      }
      if (step.params.fail) throw new Error(`boom in ${step.id}`);
      return { ok: step.id };
    },
    async rollback(step, ctx) {
      const st = await ctx.state.get<{ did: string }>();
      calls.push(`rollback:${step.id}:${st?.did}`);
    },
  };
  return { kind, calls, hanging, kinds: new Map([['rec', kind as StepKind]]) };
}

class RecordingGates implements GatePort {
  requests: GateRequest[] = [];
  constructor(private readonly answer: (r: GateRequest) => GateDecision = () => ({ approved: true, by: 'test' })) {}
  async request(r: GateRequest): Promise<GateDecision> {
    this.requests.push(r);
    return this.answer(r);
  }
}

describe('runner', () => {
  const db = useTestDatabase();

  it('runs phases in order, journals every transition and records the run', async () => {
    const rec = recorder();
    const rb = makeRunbook(
      [
        makeStep('rec', {}, { id: 'p1', phase: 'plan' }),
        makeStep('rec', {}, { id: 'd1', phase: 'deploy' }),
        makeStep('rec', {}, { id: 'd2', phase: 'deploy' }),
        makeStep('rec', {}, { id: 'm1', phase: 'monitor' }),
        makeStep('rec', {}, { id: 'r1', phase: 'rollback' }),
      ],
      { name: 'order-test' },
    );
    const { outcome, events } = await runRunbook(rb, { url: db.url, kinds: rec.kinds });
    expect(outcome.status).toBe('completed');
    expect(rec.calls).toEqual(['apply:p1', 'apply:d1', 'apply:d2', 'apply:m1']); // rollback only on request
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('run.started');
    expect(types.at(-1)).toBe('run.completed');
    const journal = await db.query(`select type, step_id, os_user from pgrunbook.events where run_id = $1 order by seq`, [outcome.runId]);
    expect(journal.map((r) => r.type)).toEqual(types.filter((t) => t !== 'step.progress'));
    expect(journal[0].os_user).toBeTruthy();
    const steps = await db.query(`select step_id, status from pgrunbook.step_states where run_id = $1 order by started_at`, [
      outcome.runId,
    ]);
    expect(steps.map((s) => `${s.step_id}:${s.status}`)).toEqual(['p1:completed', 'd1:completed', 'd2:completed', 'm1:completed']);
    const run = await db.query(`select status from pgrunbook.runs where run_id = $1`, [outcome.runId]);
    expect(run[0].status).toBe('completed');
  });

  it('rollback compensates completed deploy steps in reverse order with their saved state, then runs rollback steps', async () => {
    const rec = recorder();
    const rb = makeRunbook(
      [
        makeStep('rec', {}, { id: 'a', phase: 'deploy' }),
        makeStep('rec', {}, { id: 'b', phase: 'deploy' }),
        makeStep('rec', { fail: true }, { id: 'c', phase: 'deploy' }),
        makeStep('rec', {}, { id: 'after', phase: 'rollback' }),
      ],
      { name: 'rollback-test' },
    );
    const first = await runRunbook(rb, { url: db.url, kinds: rec.kinds, phases: ['deploy'] });
    expect(first.outcome.status).toBe('failed');
    expect(first.events.find((e) => e.type === 'step.failed')).toMatchObject({ stepId: 'c', error: 'boom in c' });
    rec.calls.length = 0;
    const back = await runRunbook(rb, { url: db.url, kinds: rec.kinds, phases: ['rollback'] });
    expect(back.outcome.status).toBe('completed');
    expect(rec.calls).toEqual(['rollback:c:c', 'rollback:b:b', 'rollback:a:a', 'apply:after']);
    const deploy = await db.query(`select step_id, status from pgrunbook.step_states where run_id = $1 order by step_id`, [
      first.outcome.runId,
    ]);
    expect(deploy.map((s) => s.status)).toEqual(['rolled_back', 'rolled_back', 'rolled_back']);
    // The operator reads which run is undone, and the plan lists the undo steps before they run.
    const plan = back.events.find((e) => e.type === 'run.plan') as any;
    expect(plan.steps.map((s: any) => `${s.phase}/${s.id}`)).toEqual([
      'rollback/undo:c',
      'rollback/undo:b',
      'rollback/undo:a',
      'rollback/after',
    ]);
    const undoing = new RegExp(`^undoing run ${first.outcome.runId} \\(started .*\\): c, b, a, newest first$`);
    expect(back.events).toContainEqual(expect.objectContaining({ type: 'step.log', message: expect.stringMatching(undoing) }));
    expect(back.events.find((e) => e.type === 'step.started' && e.stepId === 'undo:c')).toMatchObject({ title: 'Undo c' });
    // status and report say what happened to both runs.
    const { stepRows } = await import('../../src/engine/state-store.js');
    const { runStatusText } = await import('../../src/report/run-status.js');
    expect(runStatusText('failed', await stepRows(db.pool, first.outcome.runId))).toBe('failed, rolled back');
    expect(runStatusText('completed', await stepRows(db.pool, back.outcome.runId))).toBe(`completed, rollback of ${first.outcome.runId}`);
  });

  it('a step whose table does not exist fails the run before any gate, naming the closest table', async () => {
    await db.query('CREATE TABLE accounts (id int PRIMARY KEY)');
    const rb = makeRunbook(
      [
        makeStep(
          'swap_table',
          { table: 'acounts', columns: [{ name: 'id', type: 'bigint' }], batch_size: 100, drop_old: false },
          { id: 'widen', phase: 'deploy' },
        ),
      ],
      { name: 'typo-test' },
    );
    const r = await runRunbook(rb, { url: db.url });
    expect(r.outcome.status).toBe('failed');
    expect(r.events.filter((e) => e.type === 'gate.requested' || e.type === 'step.started')).toEqual([]);
    expect(r.events.find((e) => e.type === 'run.failed')).toMatchObject({
      error: expect.stringMatching(/^step widen: table acounts does not exist in database .*; the closest existing table is accounts$/),
    });
  });

  it('resume skips completed steps and finishes the run', async () => {
    const rec = recorder();
    const steps = [
      makeStep('rec', {}, { id: 's1', phase: 'deploy' }),
      makeStep('rec', { fail: true }, { id: 's2', phase: 'deploy' }),
      makeStep('rec', {}, { id: 's3', phase: 'deploy' }),
    ];
    const rb = makeRunbook(steps, { name: 'resume-test' });
    const first = await runRunbook(rb, { url: db.url, kinds: rec.kinds });
    expect(first.outcome.status).toBe('failed');
    // The operator fixes the cause; the runbook is the same apart from the failure.
    (steps[1]!.params as RecParams).fail = false;
    rec.calls.length = 0;
    const second = await runRunbook(rb, { url: db.url, kinds: rec.kinds, resumeRunId: first.outcome.runId, inFlight: { s2: 'rerun' } });
    expect(second.outcome.status).toBe('completed');
    expect(rec.calls).toEqual(['apply:s2', 'apply:s3']);
    expect(second.events.find((e) => e.type === 'step.skipped')).toMatchObject({ stepId: 's1' });
    const seqs = await db.query(`select seq from pgrunbook.events where run_id = $1 order by seq`, [first.outcome.runId]);
    expect(seqs.map((r) => r.seq)).toEqual(seqs.map((_, i) => i + 1)); // one gap-free journal across both sessions
  });

  it('a failed or in-flight step without reconcile is not re-run unattended', async () => {
    const rec = recorder();
    const rb = makeRunbook([makeStep('rec', { fail: true }, { id: 'x', phase: 'deploy' })], { name: 'inflight-test' });
    const first = await runRunbook(rb, { url: db.url, kinds: rec.kinds });
    rec.calls.length = 0;
    const again = await runRunbook(rb, { url: db.url, kinds: rec.kinds, resumeRunId: first.outcome.runId });
    expect(again.outcome.status).toBe('failed');
    expect(again.outcome.error?.message).toMatch(/effect is unknown/);
    expect(rec.calls).toEqual([]);
  });

  it('gates: irreversible steps need a type gate, ACCESS EXCLUSIVE needs confirm, and the policy enforces flags', async () => {
    const rec = recorder();
    const irreversible = makeStep('rec', { reversible: false }, { id: 'drop', phase: 'deploy' });
    const exclusive = makeStep('rec', { exclusive: true }, { id: 'alter', phase: 'deploy' });
    const plain = makeStep('rec', {}, { id: 'plain', phase: 'deploy' });
    expect(gateLevel(irreversible, rec.kind, rec.kind.plan(irreversible, {} as any) as StepPlan)).toBe('type');
    expect(gateLevel(exclusive, rec.kind, rec.kind.plan(exclusive, {} as any) as StepPlan)).toBe('confirm');
    expect(gateLevel(plain, rec.kind, rec.kind.plan(plain, {} as any) as StepPlan)).toBe('none');

    const rb = makeRunbook([exclusive, irreversible], { name: 'gate-test' });
    const onlyYes = await runRunbook(rb, {
      url: db.url,
      kinds: rec.kinds,
      gates: new PolicyGates({ yes: true, allowIrreversible: false, user: 't' }),
    });
    expect(onlyYes.outcome.status).toBe('failed');
    expect(onlyYes.outcome.error?.message).toMatch(/--allow-irreversible/);
    expect(rec.calls).toEqual(['apply:alter']);

    const gates = new RecordingGates();
    rec.calls.length = 0;
    const ok = await runRunbook(makeRunbook([exclusive, irreversible], { name: 'gate-test-2' }), { url: db.url, kinds: rec.kinds, gates });
    expect(ok.outcome.status).toBe('completed');
    expect(gates.requests.map((r) => `${r.stepId}:${r.level}:${r.lockMode ?? ''}`)).toEqual([
      'alter:confirm:AccessExclusiveLock',
      'drop:type:',
    ]);
    const decided = ok.events.filter((e) => e.type === 'gate.decided');
    expect(decided).toHaveLength(2);
  });

  it('settings.approvals makes an irreversible step wait for another person; a sandbox run (rehearsal) never waits', async () => {
    const rec = recorder();
    const drop = makeStep('rec', { reversible: false }, { id: 'drop', phase: 'deploy' });
    const withApprovals = (name: string) => {
      const rb = makeRunbook([drop], { name });
      return { ...rb, integrations: { approvals: 1, approvalTimeoutMs: 300 } };
    };
    const real = await runRunbook(withApprovals('approvals-real'), { url: db.url, kinds: rec.kinds });
    expect(real.outcome.status).toBe('failed');
    expect(real.outcome.error?.message).toMatch(/no approval within settings\.approval_timeout/);
    expect(real.events.find((e) => e.type === 'approval.waiting')).toMatchObject({ needed: 1, request: { stepId: 'drop', level: 'type' } });
    expect(rec.calls).toEqual([]);

    const sandbox = await runRunbook(withApprovals('approvals-sandbox'), { url: db.url, kinds: rec.kinds, sandbox: true });
    expect(sandbox.outcome.status).toBe('completed');
    expect(sandbox.events.some((e) => e.type === 'approval.waiting')).toBe(false);
    expect(rec.calls).toEqual(['apply:drop']);
  });

  it('shows the deploy plan behind a gate before the deploy phase; declining runs nothing', async () => {
    const rec = recorder();
    const rb = makeRunbook([makeStep('rec', {}, { id: 'p', phase: 'plan' }), makeStep('rec', {}, { id: 'd', phase: 'deploy' })], {
      name: 'deploy-plan-test',
    });
    const gates = new RecordingGates((r) => ({
      approved: r.id !== 'deploy:plan',
      by: 'test',
      reason: r.id === 'deploy:plan' ? 'not now' : undefined,
    }));
    const deployPlan = async () => ({
      summary: '1 deploy step, estimated 2s',
      lines: ['step deploy/d'],
      evidence: [{ label: 'deploy steps', value: 1 }],
    });
    const { Runner } = await import('../../src/engine/runner.js');
    const { connectionFactory, resolveConnection } = await import('../../src/pg/connection.js');
    const connection = resolveConnection(db.url);
    const runner = new Runner({
      runbook: rb,
      connection,
      connect: connectionFactory(connection),
      gates,
      nonInteractive: true,
      journalDir: null,
      kinds: rec.kinds,
      deployPlan,
    });
    const events: any[] = [];
    runner.bus.on((e) => events.push(e));
    const outcome = await runner.run();
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toMatch(/deploy plan was not approved: not now/);
    expect(rec.calls).toEqual(['apply:p']);
    expect(events.find((e) => e.type === 'phase.plan')).toMatchObject({ phase: 'deploy', summary: '1 deploy step, estimated 2s' });
    expect(gates.requests.map((r) => r.id)).toEqual(['deploy:plan']);
    expect(gates.requests[0]!.evidence).toEqual([{ label: 'deploy steps', value: 1 }]);
  });

  it('abort stops the running step, marks the run aborted and leaves it resumable', async () => {
    const rec = recorder();
    const rb = makeRunbook([makeStep('rec', { hang: true }, { id: 'long', phase: 'deploy' })], { name: 'abort-test' });
    const p = runRunbook(rb, {
      url: db.url,
      kinds: rec.kinds,
      onRunner: (r) => void rec.hanging.then(() => r.abort('operator pressed a')),
    });
    const { outcome, events } = await p;
    expect(outcome.status).toBe('aborted');
    expect(events.at(-1)).toMatchObject({ type: 'run.aborted', reason: 'operator pressed a' });
    const st = await db.query(`select status from pgrunbook.step_states where run_id = $1`, [outcome.runId]);
    expect(st[0].status).toBe('running'); // in flight: resume will reconcile it
  });

  it('a second runner of the same runbook on the same database gets the lock error naming the holder', async () => {
    const rec = recorder();
    const rb = makeRunbook([makeStep('rec', { hang: true }, { id: 'hold', phase: 'deploy' })], { name: 'lock-test' });
    let holder: any;
    const first = runRunbook(rb, { url: db.url, kinds: rec.kinds, onRunner: (r) => (holder = r) });
    await rec.hanging;
    const second = runRunbook(rb, { url: db.url, kinds: rec.kinds });
    await expect(second).rejects.toThrow(/already running on this database, held by .*@.* \(pid \d+/);
    holder.abort('done');
    expect((await first).outcome.status).toBe('aborted');
  });
});

describe('typedName', () => {
  it('asks for the bare table name at type gates', async () => {
    const { typedName } = await import('../../src/engine/gate-level.js');
    expect(typedName('"public"."orders_old"')).toBe('orders_old');
    expect(typedName('app.orders')).toBe('app.orders');
    expect(typedName('orders')).toBe('orders');
  });
});
