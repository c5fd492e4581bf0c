import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { registerSecret } from '../../src/util/secrets.js';
import {
  activeBackfill,
  createUiStore,
  focusStep,
  initialRunState,
  LOG_CAP,
  reduce,
  runningStep,
  shownSample,
  snapshotMetrics,
  type RunState,
} from '../../src/ui/store.js';
import type { MonitorSample } from '../../src/monitor/monitor-types.js';
import { PLAN, scriptedBus, TARGET } from './support/events.js';

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function replay(events: RunEvent[], from: RunState = initialRunState()): RunState {
  return events.reduce((s, e) => reduce(deepFreeze(s), e), from);
}

function sample(over: Partial<MonitorSample> = {}): MonitorSample {
  return {
    at: Date.parse('2025-01-01T12:00:01Z'),
    pollMs: 3,
    serverVersionNum: 170006,
    locks: [],
    longQueries: [],
    standbys: [],
    walBytesPerSecond: 1024,
    connectionsByState: { active: 3, idle: 5 },
    indexBuilds: [],
    notes: [],
    ...over,
  };
}

function started() {
  const s = scriptedBus();
  s.emit({
    type: 'run.started',
    runbook: 'Demo',
    file: 'runbooks/demo.yaml',
    target: TARGET,
    phases: ['deploy'],
    resumed: false,
    user: 'ann',
    host: 'box',
    pid: 7,
  });
  s.emit(PLAN);
  s.emit({ type: 'phase.started', phase: 'deploy' });
  return s;
}

describe('reduce (pure run-state reducer)', () => {
  it('builds the header and the step list from run.started and run.plan', () => {
    const { events } = started();
    const s = replay(events);
    expect(s.status).toBe('running');
    expect(s.runbook).toBe('Demo');
    expect(s.target?.serverVersion).toBe('17.6');
    expect(s.phase).toBe('deploy');
    expect(s.stepOrder).toEqual(['add_amount_cents', 'backfill_amount', 'amount_not_null', 'index_amount']);
    expect(s.steps.add_amount_cents!.detail.locks).toEqual([{ relation: 'orders', mode: 'AccessExclusiveLock' }]);
    expect(Object.values(s.steps).every((st) => st.status === 'pending')).toBe(true);
  });

  it('follows a step through start, SQL, retry, progress, throttle and completion without mutating the input', () => {
    const b = started();
    b.emit({ type: 'step.started', phase: 'deploy', stepId: 'add_amount_cents', kind: 'add_column', title: 't', attempt: 1 });
    b.emit({ type: 'step.retry', stepId: 'add_amount_cents', attempt: 1, of: 10, delayMs: 200, reason: 'lock_timeout' });
    b.emit({
      type: 'step.sql',
      stepId: 'add_amount_cents',
      sql: 'ALTER TABLE orders ADD COLUMN amount_cents bigint',
      durationMs: 4,
      rowCount: null,
      ok: true,
    });
    b.tick(1500);
    b.emit({ type: 'step.completed', phase: 'deploy', stepId: 'add_amount_cents', durationMs: 1500 });
    b.emit({ type: 'step.started', phase: 'deploy', stepId: 'backfill_amount', kind: 'backfill', title: 't', attempt: 1 });
    b.emit({
      type: 'step.progress',
      stepId: 'backfill_amount',
      progress: {
        kind: 'backfill',
        rowsDone: 1000,
        rowsTotal: 4000,
        batches: 1,
        batchSize: 1000,
        pauseMs: 0,
        rate: 900,
        etaSeconds: 3,
        lastBatchMs: 80,
        pass: 'main',
        paused: false,
        throttle: null,
      },
    });
    b.emit({ type: 'step.throttle', stepId: 'backfill_amount', reason: 'replication lag', detail: '9 MB' });
    const s = replay(b.events);
    const add = s.steps.add_amount_cents!;
    expect(add.status).toBe('done');
    expect(add.durationMs).toBe(1500);
    expect(add.retry).toBeUndefined();
    expect(add.lastSql?.ok).toBe(true);
    expect(runningStep(s)?.id).toBe('backfill_amount');
    expect(activeBackfill(s)?.progress.rowsDone).toBe(1000);
    expect(s.steps.backfill_amount!.throttle).toEqual({ reason: 'replication lag', detail: '9 MB' });
    expect(s.log.some((l) => l.level === 'warn' && l.text.includes('throttle: replication lag'))).toBe(true);
  });

  it('records failures with the SQLSTATE and hint, and the run outcome', () => {
    const b = started();
    b.emit({ type: 'step.started', phase: 'deploy', stepId: 'amount_not_null', kind: 'not_null', title: 't', attempt: 2 });
    b.emit({
      type: 'step.failed',
      phase: 'deploy',
      stepId: 'amount_not_null',
      durationMs: 50,
      error: 'canceling statement due to lock timeout',
      sqlstate: '55P03',
      hint: 'find the blocker',
    });
    b.emit({ type: 'run.failed', error: 'step amount_not_null failed', stepId: 'amount_not_null' });
    const s = replay(b.events);
    expect(s.steps.amount_not_null).toMatchObject({ status: 'failed', attempt: 2, sqlstate: '55P03', hint: 'find the blocker' });
    expect(s.status).toBe('failed');
    expect(s.endedAt).toBe(Date.parse('2025-01-01T12:00:00Z'));
    expect(s.log.at(-1)?.level).toBe('error');
  });

  it('tracks gates on the event stream, pause, interrupt and abort', () => {
    const b = started();
    const request = {
      id: 'amount_not_null:gate',
      stepId: 'amount_not_null',
      level: 'confirm' as const,
      title: 't',
      action: 'a',
      evidence: [],
    };
    b.emit({ type: 'gate.requested', request });
    expect(replay(b.events).gatedSteps).toEqual(['amount_not_null']);
    b.emit({ type: 'gate.decided', request, decision: { approved: true, by: 'ann' } });
    b.emit({ type: 'run.paused', reason: 'operator' });
    let s = replay(b.events);
    expect(s.gatedSteps).toEqual([]);
    expect(s.status).toBe('paused');
    b.emit({ type: 'run.unpaused' });
    b.emit({ type: 'run.interrupted', reason: 'terminal hung up (SIGHUP)' });
    s = replay(b.events);
    expect(s.status).toBe('interrupted');
    expect(s.log.at(-1)?.text).toContain('resumable');
  });

  it('shows the deploy plan gate as its own row, done once approved (not pending after the run)', () => {
    const b = started();
    const request = {
      id: 'deploy:plan',
      stepId: 'deploy',
      level: 'confirm' as const,
      title: 'Start the deploy phase',
      action: 'a',
      evidence: [],
    };
    b.emit({ type: 'gate.requested', request });
    let s = replay(b.events);
    expect(s.steps.deploy).toMatchObject({ status: 'pending', gateOnly: true, phase: 'deploy', title: 'Start the deploy phase' });
    b.emit({ type: 'gate.decided', request, decision: { approved: true, by: 'ann' } });
    b.emit({ type: 'run.completed', durationMs: 10 });
    s = replay(b.events);
    expect(s.steps.deploy!.status).toBe('done');
    expect(Object.values(s.steps).filter((st) => st.status === 'pending' && st.gateOnly)).toEqual([]);
    // A declined plan reads as failed, with the reason.
    const d = started();
    d.emit({ type: 'gate.requested', request });
    d.emit({ type: 'gate.decided', request, decision: { approved: false, by: 'ann', reason: 'declined by the operator' } });
    expect(replay(d.events).steps.deploy).toMatchObject({ status: 'failed', error: 'declined by the operator' });
  });

  it('keeps our lock timeouts (55P03) from the executor, newest first, for the Locks panel', () => {
    const b = started();
    b.emit({ type: 'step.started', phase: 'deploy', stepId: 'index_amount', kind: 'create_index', title: 't', attempt: 1 });
    const failed = { type: 'step.sql' as const, stepId: 'index_amount', sql: 'CREATE INDEX CONCURRENTLY …', rowCount: null, ok: false };
    b.emit({ ...failed, durationMs: 2000, error: 'canceling statement due to lock timeout', sqlstate: '55P03' });
    b.tick(3000);
    b.emit({ ...failed, durationMs: 2100, error: 'canceling statement due to lock timeout', sqlstate: '55P03' });
    b.emit({ ...failed, durationMs: 5, error: 'syntax error', sqlstate: '42601' });
    const s = replay(b.events);
    expect(s.lockTimeouts).toEqual([
      { stepId: 'index_amount', at: Date.parse('2025-01-01T12:00:03Z'), waitedMs: 2100 },
      { stepId: 'index_amount', at: Date.parse('2025-01-01T12:00:00Z'), waitedMs: 2000 },
    ]);
  });

  it('ignores events it has already seen (replays, duplicate listeners)', () => {
    const { events } = started();
    const once = replay(events);
    expect(replay(events, once)).toBe(once);
  });

  it('keeps the log bounded', () => {
    const b = started();
    for (let i = 0; i < LOG_CAP + 50; i++) b.emit({ type: 'step.log', stepId: 'backfill_amount', level: 'info', message: `line ${i}` });
    const s = replay(b.events);
    expect(s.log.length).toBe(LOG_CAP);
    expect(s.log.at(-1)?.text).toBe(`backfill_amount: line ${LOG_CAP + 49}`);
  });

  it('never lets a password into the log', () => {
    registerSecret('s3cr3t-pw');
    const b = started();
    b.emit({ type: 'step.log', stepId: 'x', level: 'error', message: 'could not connect to postgres://ann:s3cr3t-pw@db/shop' });
    b.emit({ type: 'step.log', stepId: 'x', level: 'error', message: 'password=s3cr3t-pw rejected' });
    const s = replay(b.events);
    const text = s.log.map((l) => l.text).join('\n');
    expect(text).not.toContain('s3cr3t-pw');
    expect(text).toContain('***');
  });

  it('focuses the gated step, else the running one, else the next pending one', () => {
    const b = started();
    let s = replay(b.events);
    expect(focusStep(s)?.id).toBe('add_amount_cents');
    b.emit({ type: 'step.started', phase: 'deploy', stepId: 'backfill_amount', kind: 'backfill', title: 't', attempt: 1 });
    s = replay(b.events);
    expect(focusStep(s)?.id).toBe('backfill_amount');
    expect(focusStep(s, { id: 'g', stepId: 'index_amount', level: 'confirm', title: '', action: '', evidence: [] })?.id).toBe(
      'index_amount',
    );
  });
});

describe('the UI store', () => {
  it('is fed by an EventBus, samples, gates and view actions', () => {
    const store = createUiStore();
    const b = started();
    for (const e of b.events) store.getState().dispatch(e);
    b.bus.on((e) => store.getState().dispatch(e));
    b.emit({ type: 'step.started', phase: 'deploy', stepId: 'add_amount_cents', kind: 'add_column', title: 't', attempt: 1 });
    expect(runningStep(store.getState().run)?.id).toBe('add_amount_cents');

    const req = { id: 'g1', stepId: 'add_amount_cents', level: 'confirm' as const, title: 't', action: 'a', evidence: [] };
    store.getState().openGate(req);
    store.getState().openGate(req);
    expect(store.getState().gates).toHaveLength(1);
    store.getState().closeGate('g1');
    expect(store.getState().gates).toHaveLength(0);

    const first = sample();
    store.getState().pushSample(first);
    store.getState().toggleFreeze();
    const second = sample({ at: first.at + 1000, connectionsByState: { active: 9 } });
    store.getState().pushSample(second);
    expect(shownSample(store.getState())).toBe(first);
    store.getState().toggleFreeze();
    expect(shownSample(store.getState())).toBe(second);
  });

  it('snapshots the metrics an operator saw, for the journal', () => {
    const store = createUiStore();
    const b = started();
    b.emit({ type: 'step.started', phase: 'deploy', stepId: 'backfill_amount', kind: 'backfill', title: 't', attempt: 1 });
    b.emit({
      type: 'step.progress',
      stepId: 'backfill_amount',
      progress: {
        kind: 'backfill',
        rowsDone: 10,
        rowsTotal: 20,
        batches: 1,
        batchSize: 10,
        pauseMs: 0,
        rate: 5,
        etaSeconds: 2,
        lastBatchMs: 10,
        pass: 'main',
        paused: false,
        throttle: null,
      },
    });
    for (const e of b.events) store.getState().dispatch(e);
    store
      .getState()
      .pushSample(sample({ standbys: [{ name: 's1', clientAddr: null, state: 'streaming', lagBytes: 4096, replayLagSeconds: 0.2 }] }));
    const m = snapshotMetrics(store.getState()) as any;
    expect(m.backfill).toMatchObject({ stepId: 'backfill_amount', rowsDone: 10, rowsTotal: 20 });
    expect(m.replication.maxLagBytes).toBe(4096);
    expect(m.connections.total).toBe(8);
  });
});

describe('second-person approval in the run state', () => {
  it('a gate waiting for approval shows the command to run in the log and keeps its evidence on the step', () => {
    const s = started();
    const request = {
      id: 'amount_not_null:gate',
      stepId: 'amount_not_null',
      level: 'confirm' as const,
      title: 'Make amount_cents NOT NULL',
      action: 'SET NOT NULL after a validated CHECK',
      evidence: [{ label: 'rows with NULL', value: 0, ok: true }],
      approvers: 1,
    };
    s.emit({ type: 'gate.requested', request });
    s.emit({ type: 'approval.waiting', request, requestId: '1', needed: 1, operator: { user: 'ann', host: 'box', role: 'deployer' } });
    const st = replay(s.events);
    expect(st.log.at(-1)?.text).toBe(
      'amount_not_null: waiting for approval from another engineer: pgrunbook approve run-test amount_not_null (or reject ... --reason TEXT)',
    );
    expect(st.steps.amount_not_null?.evidence).toEqual(request.evidence);
    expect(st.gatedSteps).toEqual(['amount_not_null']);
  });
});
