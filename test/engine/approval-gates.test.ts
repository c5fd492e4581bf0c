// The approval wait against fakes: a fake database holding the decisions, a fake LISTEN session
// and a FakeClock, so "woken by NOTIFY" and "woken by the poll" are told apart without timing.
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { APPROVAL_POLL_MS, approvalGates } from '../../src/engine/approval-gates.js';
import type { EventBody } from '../../src/engine/events.js';
import { approversFor, sameApprover, type GateDecision, type GatePort, type GateRequest } from '../../src/engine/gates.js';
import type { Runbook, StepSpec } from '../../src/runbook/model.js';
import { FakeClock } from '../../src/util/clock.js';
import type { Queryable } from '../../src/pg/queryable.js';

const req: GateRequest = {
  id: 'drop_old:gate',
  stepId: 'drop_old',
  level: 'type',
  title: 'Drop orders_old',
  action: 'DROP TABLE orders_old.',
  expectText: 'orders_old',
  evidence: [{ label: 'rows', value: 0, ok: true }],
  approvers: 1,
};

interface Decision {
  decision_id: string;
  approved: boolean;
  reason: string | null;
  os_user: string;
  host: string;
  db_role: string;
  decided_at: string;
}

class FakeDb {
  decisions: Decision[] = [];
  outcome?: string;
  opened = 0;
  async query(sql: string, params: unknown[] = []) {
    if (sql.includes('INSERT INTO pgrunbook.approval_requests')) {
      this.opened++;
      return { rows: [{ request_id: '7', role: 'app_owner' }] };
    }
    if (sql.includes('FROM pgrunbook.approval_decisions')) return { rows: [...this.decisions] };
    if (sql.includes('UPDATE pgrunbook.approval_requests')) {
      this.outcome = String(params[1]);
      return { rows: [] };
    }
    throw new Error(`unexpected SQL: ${sql}`);
  }
  decide(user: string, role: string, approved = true, reason: string | null = null): void {
    const id = String(this.decisions.length + 1);
    this.decisions.push({
      decision_id: id,
      approved,
      reason,
      os_user: user,
      host: 'h2',
      db_role: role,
      decided_at: '2026-12-06T10:00:00.000Z',
    });
  }
}

class FakeListener extends EventEmitter {
  listened = false;
  async connect() {}
  async query(sql: string) {
    if (sql.startsWith('LISTEN')) this.listened = true;
    return { rows: [] };
  }
  async end() {
    this.emit('end');
  }
  notify(payload: string): void {
    this.emit('notification', { channel: 'pgrunbook_approvals', payload, processId: 1 });
  }
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

function setup(own: GateDecision = { approved: true, by: 'alice (--yes)' }, timeoutMs?: number) {
  const db = new FakeDb();
  const listeners: FakeListener[] = [];
  const events: EventBody[] = [];
  const clock = new FakeClock();
  const inner: GatePort = { request: async () => own };
  const port = approvalGates(inner, {
    db: () => db as unknown as Queryable,
    listenClient: () => {
      const l = new FakeListener();
      listeners.push(l);
      return l as unknown as pg.Client;
    },
    runId: 'r1',
    operator: { user: 'alice', host: 'h1', pid: 1 },
    emit: (b) => events.push(b),
    clock,
    timeoutMs,
  });
  const ac = new AbortController();
  let result: GateDecision | undefined;
  let error: unknown;
  const start = (r: GateRequest = req) => {
    const p = port.request(r, ac.signal).then(
      (d) => (result = d),
      (e) => (error = e),
    );
    return p;
  };
  return { db, listeners, events, clock, ac, start, result: () => result, error: () => error };
}

describe('approval wait', () => {
  it('passes the operator’s own answer through when no approver is needed or the operator declined', async () => {
    const none = setup();
    await none.start({ ...req, approvers: undefined });
    expect(none.result()).toEqual({ approved: true, by: 'alice (--yes)' });
    const declined = setup({ approved: false, by: 'policy', reason: 'no --yes' });
    await declined.start();
    expect(declined.result()).toMatchObject({ approved: false, reason: 'no --yes' });
    expect(none.db.opened + declined.db.opened).toBe(0);
  });

  it('wakes on a NOTIFY for its run, ignores the operator’s own identity and other runs', async () => {
    const t = setup();
    void t.start();
    await flush();
    expect(t.events.map((e) => e.type)).toEqual(['approval.waiting']);
    expect(t.events[0]).toMatchObject({ needed: 1, operator: { user: 'alice', role: 'app_owner' } });
    expect(t.listeners[0]!.listened).toBe(true);

    t.db.decide('alice', 'app_owner'); // the operator, from another host: still the operator
    t.listeners[0]!.notify('r1');
    await flush();
    expect(t.result()).toBeUndefined();
    t.db.decide('bob', 'app_owner');
    t.listeners[0]!.notify('another-run');
    await flush();
    expect(t.result()).toBeUndefined();
    t.listeners[0]!.notify('r1');
    await flush();
    expect(t.result()).toEqual({ approved: true, by: 'alice (--yes); approved by bob@h2 (role app_owner)' });
    expect(t.events.at(-1)).toMatchObject({ type: 'approval.decided', approved: true, seenBy: 'notify', missing: 0 });
    expect(t.db.outcome).toBe('approved');
    expect(t.clock.now()).toBe(new FakeClock().now()); // no time passed: the NOTIFY, not the poll
  });

  it('counts decisions already on record (a resumed run) and needs as many people as asked', async () => {
    const t = setup();
    t.db.decide('bob', 'app_owner');
    void t.start({ ...req, approvers: 2 });
    await flush();
    expect(t.events.at(-1)).toMatchObject({ type: 'approval.decided', seenBy: 'record', missing: 1 });
    expect(t.result()).toBeUndefined();
    t.db.decide('carol', 'carol');
    t.listeners[0]!.notify('r1');
    await flush();
    expect(t.result()?.approved).toBe(true);
    expect(t.result()?.by).toMatch(/bob@h2 \(role app_owner\), carol@h2 \(role carol\)/);
  });

  it('a lost LISTEN session is reported once and the slow poll still finds the decision', async () => {
    const t = setup();
    void t.start();
    await flush();
    t.listeners[0]!.emit('error', new Error('terminated'));
    t.listeners[0]!.emit('end');
    await flush();
    const warns = t.events.filter((e) => e.type === 'step.log');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ level: 'warn', message: expect.stringMatching(/lost the session that listens for approvals/) });
    t.db.decide('bob', 'bob');
    t.clock.advance(APPROVAL_POLL_MS);
    await flush();
    expect(t.result()?.approved).toBe(true);
    expect(t.events.find((e) => e.type === 'approval.decided')).toMatchObject({ seenBy: 'poll' });
    expect(t.listeners).toHaveLength(1); // it listens again on the next round
  });

  it('one rejection ends the wait with its reason; the request is closed as rejected', async () => {
    const t = setup();
    void t.start({ ...req, approvers: 2 });
    await flush();
    t.db.decide('bob', 'bob', false, 'not during the sale');
    t.listeners[0]!.notify('r1');
    await flush();
    expect(t.result()).toEqual({ approved: false, by: 'bob@h2 (role bob)', reason: 'rejected by bob@h2 (role bob): not during the sale' });
    expect(t.db.outcome).toBe('rejected');
  });

  it('stops after settings.approval_timeout, and a stopped run stops waiting at once', async () => {
    const t = setup(undefined, 60_000);
    void t.start();
    await flush();
    for (let i = 0; i < 4 && !t.result(); i++) {
      t.clock.advance(APPROVAL_POLL_MS);
      await flush();
    }
    expect(t.result()).toMatchObject({
      approved: false,
      reason: expect.stringMatching(/no approval within settings\.approval_timeout \(1m00s\)/),
    });
    expect(t.db.outcome).toBe('timed out');

    const s = setup();
    void s.start();
    await flush();
    s.ac.abort(new Error('stopped by the operator'));
    await flush();
    expect((s.error() as Error).message).toBe('stopped by the operator');
    expect(s.db.outcome).toBeUndefined(); // left open: a resumed run picks it up
  });
});

describe('approval rules', () => {
  const rb = (approvals?: number) => ({ integrations: approvals === undefined ? undefined : { approvals } }) as Runbook;
  const st = (approvers?: number) => ({ id: 's', approvers }) as StepSpec;
  it('settings.approvals covers type gates; a step’s own approvers win; undo never waits', () => {
    expect(approversFor(st(), rb(1), 'type')).toBe(1);
    expect(approversFor(st(), rb(1), 'confirm')).toBe(0);
    expect(approversFor(st(2), rb(1), 'confirm')).toBe(2);
    expect(approversFor(st(0), rb(1), 'type')).toBe(0);
    expect(approversFor(st(2), rb(1), 'type', true)).toBe(0);
    expect(approversFor(st(), rb(), 'type')).toBe(0);
  });
  it('another OS user or another role is another person; another host alone is not', () => {
    const a = { user: 'alice', host: 'h1', role: 'app' };
    expect(sameApprover(a, { ...a, host: 'h2' })).toBe(true);
    expect(sameApprover(a, { ...a, user: 'bob' })).toBe(false);
    expect(sameApprover(a, { ...a, role: 'bob' })).toBe(false);
  });
});
