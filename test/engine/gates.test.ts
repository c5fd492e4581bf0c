import { describe, expect, it } from 'vitest';
import { acceptable, expectedText, journaledGates, PolicyGates, type GateDecision, type GateRequest } from '../../src/engine/gates.js';

const confirmReq: GateRequest = {
  id: 'add_col:gate',
  stepId: 'add_col',
  level: 'confirm',
  title: 'Add orders.amount_cents',
  action: 'ALTER TABLE orders ADD COLUMN amount_cents bigint.',
  evidence: [],
};
const typeReq: GateRequest = { ...confirmReq, id: 'nn:gate', stepId: 'amount_not_null', level: 'type', expectText: 'orders' };

describe('gate rules: what a type gate wants typed', () => {
  it('is the expectText when there is one, else the step id', () => {
    expect(expectedText(typeReq)).toBe('orders');
    expect(expectedText({ ...typeReq, expectText: undefined })).toBe('amount_not_null');
    expect(expectedText({ ...typeReq, expectText: '' })).toBe('amount_not_null');
  });
});

describe('gate rules: which approving answers count', () => {
  it('accepts a plain approval of a confirm gate', () => {
    expect(acceptable(confirmReq, { approved: true })).toBe(true);
  });

  it('accepts a type gate only with the exact text (case and spaces matter)', () => {
    expect(acceptable(typeReq, { approved: true })).toBe(false);
    expect(acceptable(typeReq, { approved: true, typed: 'Orders' })).toBe(false);
    expect(acceptable(typeReq, { approved: true, typed: 'orders ' })).toBe(false);
    expect(acceptable(typeReq, { approved: true, typed: 'orders' })).toBe(true);
    const byStep: GateRequest = { ...typeReq, expectText: undefined };
    expect(acceptable(byStep, { approved: true, typed: 'orders' })).toBe(false);
    expect(acceptable(byStep, { approved: true, typed: 'amount_not_null' })).toBe(true);
  });

  it('accepts only an offered choice when the request has choices', () => {
    const req: GateRequest = { ...confirmReq, choices: ['retry', 'abort'] };
    expect(acceptable(req, { approved: true })).toBe(false);
    expect(acceptable(req, { approved: true, choice: 'later' })).toBe(false);
    expect(acceptable(req, { approved: true, choice: 'retry' })).toBe(true);
  });

  it('needs both the choice and the text on a type gate with choices', () => {
    const req: GateRequest = { ...typeReq, choices: ['retry', 'abort'] };
    expect(acceptable(req, { approved: true, choice: 'retry' })).toBe(false);
    expect(acceptable(req, { approved: true, typed: 'orders' })).toBe(false);
    expect(acceptable(req, { approved: true, choice: 'retry', typed: 'orders' })).toBe(true);
  });
});

describe('PolicyGates (non-interactive runs)', () => {
  const policy = (yes: boolean, allowIrreversible: boolean) => new PolicyGates({ yes, allowIrreversible, user: 'ann' });

  it('approves confirm gates only with --yes, naming the flag it needs', async () => {
    await expect(policy(true, false).request(confirmReq)).resolves.toEqual({ approved: true, by: 'ann (--yes)' });
    const no = await policy(false, false).request(confirmReq);
    expect(no).toMatchObject({ approved: false, by: 'policy' });
    expect(no.reason).toContain('pass --yes');
  });

  it('approves type gates only with --yes and --allow-irreversible', async () => {
    const onlyYes = await policy(true, false).request(typeReq);
    expect(onlyYes.approved).toBe(false);
    expect(onlyYes.reason).toContain('--allow-irreversible');
    await expect(policy(true, true).request(typeReq)).resolves.toEqual({ approved: true, by: 'ann (--yes --allow-irreversible)' });
  });

  it('never answers a mid-step question with choices', async () => {
    const d = await policy(true, true).request({ ...confirmReq, choices: ['retry', 'abort'] });
    expect(d.approved).toBe(false);
    expect(d.reason).toContain('non-interactive');
  });
});

describe('journaledGates', () => {
  it('emits the request before asking and the decision with the metrics after', async () => {
    const seen: string[] = [];
    const decision: GateDecision = { approved: true, by: 'ann' };
    const port = {
      request: async () => {
        seen.push('asked');
        return decision;
      },
    };
    const gates = journaledGates(
      port,
      (e) => seen.push(e.type === 'gate.decided' ? `decided ${JSON.stringify(e.metrics)}` : e.type),
      () => ({ lag_bytes: 12 }),
    );
    await expect(gates.request(confirmReq, new AbortController().signal)).resolves.toBe(decision);
    expect(seen).toEqual(['gate.requested', 'asked', 'decided {"lag_bytes":12}']);
  });
});
