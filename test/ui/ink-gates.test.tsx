import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { GateRequest } from '../../src/engine/gates.js';
import { App } from '../../src/ui/app.js';
import { InkGates } from '../../src/ui/ink-gates.js';
import { KEYS, frame, recordingIntents, renderAt, waitFor, waitForFrame, withProviders } from './support/harness.js';
import { startedRun } from './support/events.js';

afterEach(() => cleanup());

const confirmReq: GateRequest = {
  id: 'add_amount_cents:gate',
  stepId: 'add_amount_cents',
  level: 'confirm',
  title: 'Add orders.amount_cents (nullable)',
  action: 'ALTER TABLE orders ADD COLUMN amount_cents bigint.',
  lockMode: 'AccessExclusiveLock',
  evidence: [
    { label: 'sessions holding locks on the table now', value: 2 },
    { label: 'table exists', value: true, ok: true },
    { label: 'replication lag', value: '48 MB', ok: false, detail: 'over the 16 MB limit' },
  ],
};

const typeReq: GateRequest = {
  id: 'drop_old:gate',
  stepId: 'amount_not_null',
  level: 'type',
  title: 'Make amount_cents NOT NULL',
  action: 'Validate a CHECK, then SET NOT NULL.',
  lockMode: 'AccessExclusiveLock',
  expectText: 'orders',
  evidence: [{ label: 'remaining NULLs', value: 0, ok: true }],
};

function setup() {
  const { store, b } = startedRun();
  const gates = new InkGates(store, { user: 'ann' });
  const intents = recordingIntents((id, a) => gates.decide(id, a));
  return { store, gates, intents, b };
}

describe('InkGates (the port)', () => {
  it('puts the request in the store and resolves with the operator and the answer', async () => {
    const { store, gates } = setup();
    const p = gates.request(confirmReq, new AbortController().signal);
    expect(store.getState().gates.map((g) => g.id)).toEqual([confirmReq.id]);
    expect(gates.decide(confirmReq.id, { approved: true })).toBe(true);
    await expect(p).resolves.toEqual({ approved: true, by: 'ann' });
    expect(store.getState().gates).toEqual([]);
    expect(gates.decide(confirmReq.id, { approved: true })).toBe(false);
  });

  it('refuses to approve a type gate without the exact text', async () => {
    const { gates, store } = setup();
    const p = gates.request(typeReq, new AbortController().signal);
    expect(gates.decide(typeReq.id, { approved: true })).toBe(false);
    expect(gates.decide(typeReq.id, { approved: true, typed: 'Orders' })).toBe(false);
    expect(store.getState().gates).toHaveLength(1);
    expect(gates.decide(typeReq.id, { approved: true, typed: 'orders' })).toBe(true);
    await expect(p).resolves.toMatchObject({ approved: true });
  });

  it('withdraws the prompt and rejects when the run stops', async () => {
    const { gates, store } = setup();
    const ac = new AbortController();
    const p = gates.request(confirmReq, ac.signal);
    ac.abort(new Error('terminal hung up'));
    await expect(p).rejects.toThrow('terminal hung up');
    expect(store.getState().gates).toEqual([]);
  });
});

describe('the gate prompt', () => {
  it('shows what the gate will do, the lock level and the evidence; Enter declines (default No)', async () => {
    const { gates, store, intents } = setup();
    const p = gates.request(confirmReq, new AbortController().signal);
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    const f = await waitForFrame(inst, (t) => t.includes('Approve? [y/N]'), 'confirm prompt');
    expect(f).toContain('GATE · confirm');
    expect(f).toContain('Add orders.amount_cents (nullable)');
    expect(f).toMatch(/will\s+ALTER TABLE orders ADD COLUMN/);
    expect(f).toMatch(/lock\s+ACCESS EXCLUSIVE on orders: blocks every read\s+and write/);
    // The step's why from the plan, at the decision.
    expect(f).toMatch(/why\s+A nullable column without a volatile/);
    expect(f).toContain('• sessions holding locks on the table now: 2');
    expect(f).toContain('✗ replication lag: 48 MB (over the 16 MB limit)');
    // What did not fit is one key away.
    expect(f).toContain('(w: all)');
    inst.stdin.write('w');
    await waitForFrame(inst, (t) => t.includes('w: back'), 'the whole gate text');
    for (let i = 0; i < 4; i++) inst.stdin.write(KEYS.down);
    await waitForFrame(inst, (t) => t.includes('✓ table exists: true'), 'the rest, scrolled to');
    inst.stdin.write(KEYS.enter);
    await expect(p).resolves.toMatchObject({ approved: false, by: 'ann', reason: 'declined by the operator' });
    await waitForFrame(inst, (t) => !t.includes('Approve?'), 'prompt gone');
  });

  it('names every relation locked and what each mode blocks; a long why is cut with a pointer, w shows it all', async () => {
    const { gates, store, intents, b } = setup();
    const why = `${'The copy runs in short batches while triggers keep the shadow table in sync. '.repeat(6)}Last words of the why.`;
    b.emit({
      type: 'run.plan',
      steps: [
        {
          phase: 'deploy',
          id: 'swap_accounts',
          kind: 'swap_table',
          title: 'Swap accounts for its bigint copy',
          gate: 'type',
          reversible: true,
          detail: {
            why,
            locks: [
              { relation: '"public"."accounts"', mode: 'AccessExclusiveLock' },
              { relation: '"public"."invoices"', mode: 'AccessExclusiveLock' },
              { relation: '"public"."accounts_id_seq"', mode: 'ShareUpdateExclusiveLock' },
            ],
          },
        },
      ],
    });
    const long = `replica ${'r'.repeat(70)} is far behind`;
    const req: GateRequest = {
      ...confirmReq,
      id: 'swap_accounts:gate',
      stepId: 'swap_accounts',
      title: 'Swap accounts for its bigint copy',
      evidence: [{ label: 'replication lag', value: '48 MB', ok: false, detail: long }],
    };
    void gates.request(req, new AbortController().signal);
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    const f = await waitForFrame(inst, (t) => t.includes('Approve? [y/N]'), 'confirm prompt');
    // The gate pane only (the step list takes the first 25 columns at 80x24).
    const pane = (t: string) =>
      t
        .split('\n')
        .map((l) => l.slice(25))
        .join(' ')
        .replace(/\s+/g, ' ');
    const flat = pane(f);
    expect(flat).toContain('ACCESS EXCLUSIVE on "public"."accounts", "public"."invoices": blocks every read and write');
    expect(flat).toContain('SHARE UPDATE EXCLUSIVE on "public"."accounts_id_seq": reads and writes go on; blocks other schema changes');
    // The failing evidence wraps in full; the why gives way, with the key to see it.
    expect(flat).toContain('is far behind)');
    expect(flat).toContain('(w: all)');
    expect(flat).not.toContain('Last words of the why.');
    expect(f.split('\n').every((l) => l.length <= 80)).toBe(true);
    inst.stdin.write('w');
    let all = await waitForFrame(inst, (t) => t.includes('w: back'), 'the expanded view');
    for (let i = 0; i < 20 && !pane(all).includes('Last words of the why.'); i++) {
      inst.stdin.write(KEYS.down);
      await new Promise((r) => setTimeout(r, 20));
      all = frame(inst);
    }
    expect(pane(all)).toContain('Last words of the why.');
    expect(all).toMatch(/lines \d+-\d+ of \d+ · ↑\/↓ scroll/);
    inst.stdin.write('w');
    await waitForFrame(inst, (t) => t.includes('(w: all)'), 'collapsed again');
    expect(store.getState().gates).toHaveLength(1); // w and the arrows never answer the gate
  });

  it('approves with y', async () => {
    const { gates, store, intents } = setup();
    const p = gates.request(confirmReq, new AbortController().signal);
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    await waitForFrame(inst, (t) => t.includes('Approve? [y/N]'), 'confirm prompt');
    inst.stdin.write('y');
    await expect(p).resolves.toEqual({ approved: true, by: 'ann' });
  });

  it('other keys do not answer a confirm gate', async () => {
    const { gates, store, intents } = setup();
    let settled = false;
    void gates.request(confirmReq, new AbortController().signal).then(() => (settled = true));
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    await waitForFrame(inst, (t) => t.includes('Approve? [y/N]'), 'confirm prompt');
    for (const k of ['x', 'z', '1', ' ']) inst.stdin.write(k);
    await waitForFrame(inst, (t) => t.includes('FROZEN'), 'space reached the run keys');
    expect(settled).toBe(false);
    expect(store.getState().gates).toHaveLength(1);
  });

  it('a type gate needs the table name typed exactly', async () => {
    const { gates, store, intents } = setup();
    const p = gates.request(typeReq, new AbortController().signal);
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    await waitForFrame(inst, (t) => t.includes('Type orders to approve'), 'type prompt');
    // y does not approve here: it is just a character.
    inst.stdin.write('y');
    await waitForFrame(inst, (t) => /\(Esc declines\): y/.test(t), 'typed y');
    inst.stdin.write(KEYS.backspace);
    for (const ch of 'ord') inst.stdin.write(ch);
    await waitForFrame(inst, (t) => t.includes('(Esc declines): ord'), 'typed ord');
    inst.stdin.write(KEYS.enter);
    await waitForFrame(inst, (t) => t.includes('"ord" does not match; type orders exactly'), 'mismatch message');
    expect(store.getState().gates).toHaveLength(1);
    for (const ch of 'ers') inst.stdin.write(ch);
    await waitForFrame(inst, (t) => t.includes('(Esc declines): orders'), 'typed orders');
    inst.stdin.write(KEYS.enter);
    await expect(p).resolves.toEqual({ approved: true, by: 'ann' });
  });

  it('a pasted name with its Enter in one chunk approves a type gate; a wrong paste does not', async () => {
    const { gates, store, intents } = setup();
    const p = gates.request(typeReq, new AbortController().signal);
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    await waitForFrame(inst, (t) => t.includes('Type orders to approve'), 'type prompt');
    inst.stdin.write('orderz\r');
    await waitForFrame(inst, (t) => t.includes('"orderz" does not match'), 'mismatch after a pasted burst');
    expect(store.getState().gates).toHaveLength(1);
    inst.stdin.write(KEYS.backspace);
    inst.stdin.write('s\r');
    await expect(p).resolves.toEqual({ approved: true, by: 'ann' });
  });

  it('in a type gate, w is text and Tab shows the whole text; what was typed stays', async () => {
    const { gates, store, intents } = setup();
    const p = gates.request(typeReq, new AbortController().signal);
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    await waitForFrame(inst, (t) => t.includes('Type orders to approve'), 'type prompt');
    for (const ch of 'ordw') inst.stdin.write(ch);
    await waitForFrame(inst, (t) => t.includes('(Esc declines): ordw'), 'w typed as text');
    inst.stdin.write(KEYS.backspace);
    inst.stdin.write('\t');
    await waitForFrame(inst, (t) => t.includes('Tab: back') && t.includes('(Esc declines): ord'), 'expanded, typing kept');
    inst.stdin.write('\t');
    await waitForFrame(inst, (t) => !t.includes('Tab: back'), 'collapsed again');
    inst.stdin.write('ers');
    inst.stdin.write(KEYS.enter);
    await expect(p).resolves.toMatchObject({ approved: true });
  });

  it('Esc declines a type gate', async () => {
    const { gates, store, intents } = setup();
    const p = gates.request(typeReq, new AbortController().signal);
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    await waitForFrame(inst, (t) => t.includes('Type orders to approve'), 'type prompt');
    inst.stdin.write(KEYS.escape);
    await expect(p).resolves.toMatchObject({ approved: false });
  });

  it('offers numbered choices (retry / abort after lock retries run out)', async () => {
    const { gates, store, intents } = setup();
    const req: GateRequest = {
      ...confirmReq,
      id: 'x:lock-retries',
      title: 'Could not get the lock after 10 retries',
      choices: ['retry', 'abort'],
    };
    const p = gates.request(req, new AbortController().signal);
    const inst = renderAt(withProviders(store, intents, <App history={false} />));
    await waitForFrame(inst, (t) => t.includes('1) retry   2) abort'), 'choices');
    inst.stdin.write('y'); // not an answer when there are choices
    inst.stdin.write('1');
    await expect(p).resolves.toEqual({ approved: true, choice: 'retry', by: 'ann' });
    await waitFor(() => frame(inst).includes('Could not get the lock') === false, 'prompt closed');
  });
});
