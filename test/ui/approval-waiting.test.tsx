// The TUI while a gate waits for a second person: the log says so, names how many approvers are
// needed and the command to run, and lists the evidence the approver will see.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { GateRequest } from '../../src/engine/gates.js';
import { App } from '../../src/ui/app.js';
import { recordingIntents, renderAt, waitForFrame, withProviders } from './support/harness.js';
import { startedRun } from './support/events.js';

afterEach(() => cleanup());

const request: GateRequest = {
  id: 'add_amount_cents:gate',
  stepId: 'add_amount_cents',
  level: 'confirm',
  title: 'Add orders.amount_cents (nullable)',
  action: 'ALTER TABLE orders ADD COLUMN amount_cents bigint.',
  lockMode: 'AccessExclusiveLock',
  evidence: [
    { label: 'sessions holding locks on the table now', value: 2 },
    { label: 'replication lag', value: '48 MB', ok: false, detail: 'over the 16 MB limit' },
  ],
};

function waiting(needed: number) {
  const { store, b } = startedRun();
  b.emit({ type: 'gate.requested', request });
  b.emit({ type: 'approval.waiting', request, requestId: '7', needed, operator: { user: 'ann', host: 'h', role: 'deployer' } });
  return { store, b };
}

describe('a gate waiting for approval', () => {
  it('shows who is needed, the command to run and the evidence in the log', async () => {
    const { store } = waiting(1);
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} />), { columns: 160, rows: 40 });
    const f = await waitForFrame(inst, (t) => t.includes('waiting for approval'), 'the waiting line');
    expect(f).toContain('waiting for approval from another engineer: pgrunbook approve run-test add_amount_cents');
    expect(f).toContain('sessions holding locks on the table now: 2');
    expect(f).toContain('replication lag: 48 MB (!) (over the 16 MB limit)');
    expect(f).toContain('operator: ann@h (role deployer) cannot approve their own gate');
    // No prompt: the operator has nothing to answer while the run waits for someone else.
    expect(f).not.toContain('Approve? [y/N]');
    // The log pager (l) has the whole entry, with what the step will do.
    inst.stdin.write('l');
    await waitForFrame(
      inst,
      (t) => t.includes('Add orders.amount_cents (nullable): ALTER TABLE orders ADD COLUMN amount_cents bigint. [takes ACCESS EXCLUSIVE]'),
      'the action in the log pager',
    );
  });

  it('names how many people when a gate needs more than one', async () => {
    const { store } = waiting(2);
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} />), { columns: 160, rows: 40 });
    await waitForFrame(inst, (t) => t.includes('waiting for approval from 2 other engineers'), 'two approvers');
  });

  it('puts the evidence in the log, in order, just above the waiting line (the newest)', () => {
    const { store } = waiting(1);
    const log = store.getState().run.log;
    const texts = log.map((l) => l.text);
    expect(texts.at(-1)).toMatch(/waiting for approval from another engineer: pgrunbook approve run-test add_amount_cents/);
    const seqs = log.map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(texts.slice(-5, -1)).toEqual([
      '  Add orders.amount_cents (nullable): ALTER TABLE orders ADD COLUMN amount_cents bigint. [takes ACCESS EXCLUSIVE]',
      '  sessions holding locks on the table now: 2',
      '  replication lag: 48 MB (!) (over the 16 MB limit)',
      '  operator: ann@h (role deployer) cannot approve their own gate',
    ]);
  });
});
