import { afterEach, describe, expect, it } from 'vitest';
import { RunbookError } from '../../src/util/runbook-error.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { checkKind } from '../../src/steps/check.js';
import { holds, parseExpect, parseRows, type QueryCondition } from '../../src/steps/lib/condition.js';
import { zCondition } from '../../src/steps/lib/condition.js';
import { makeRunbook, makeStep, makeTestStepContext, type TestStepContext } from '../support/step-context.js';
import { useTestDatabase } from '../support/pg.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const db = useTestDatabase();
let ctx: TestStepContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

const cond = (v: unknown): QueryCondition => zCondition.parse(v);

describe('condition syntax', () => {
  it('parses comparisons, values and row counts', () => {
    expect(parseExpect('= 0')).toMatchObject({ op: '=', operand: { type: 'number', value: 0 } });
    expect(parseExpect('<> done')).toMatchObject({ op: '!=', operand: { type: 'text', value: 'done' } });
    expect(parseExpect(">= 'b'")).toMatchObject({ op: '>=', operand: { type: 'text', value: 'b' } });
    expect(parseExpect('is not null')).toMatchObject({ op: '!=', operand: { type: 'null' } });
    expect(parseExpect(true)).toMatchObject({ op: '=', operand: { type: 'boolean', value: true } });
    expect(parseExpect('ready')).toMatchObject({ op: '=', operand: { type: 'text', value: 'ready' } });
    expect(parseExpect('>')).toMatch(/has no value/);
    expect(parseRows('nonempty')).toMatchObject({ op: '>', operand: { value: 0 } });
    expect(parseRows('<= 5')).toMatchObject({ op: '<=', operand: { value: 5 } });
    expect(parseRows('lots')).toMatch(/write a row count/);
  });

  it('compares numbers numerically, including bigint text', () => {
    const gt = parseExpect('> 9') as any;
    expect(holds(gt, '10')).toBe(true); // count(*) arrives as text
    expect(holds(gt, 9)).toBe(false);
    expect(holds(parseExpect('= t') as any, 't')).toBe(true);
    expect(holds(parseExpect(true) as any, 't')).toBe(true);
    expect(holds(parseExpect('is null') as any, null)).toBe(true);
    expect(holds(parseExpect('= 0') as any, undefined)).toBe(false); // no row
  });

  it('reports a bad condition when the runbook is loaded', async () => {
    const text = 'version: 1\nname: c\nphases:\n  plan:\n    - id: c\n      check:\n        query: SELECT 1\n        expect: ">"\n';
    const { problems } = await loadRunbookText(text, 'c.yaml', { kinds: STEP_KINDS });
    expect(problems.map((p) => `${p.pos.line}:${p.pos.col} ${p.message}`)).toEqual([
      expect.stringMatching(/^8:17 check\.expect: expect ">": the comparison has no value/),
    ]);
  });

  it('refuses queries that write or hold several statements', async () => {
    const text =
      'version: 1\nname: c\nphases:\n  plan:\n    - id: c\n      check:\n        query: DELETE FROM t RETURNING 1; SELECT 1\n        rows: 0\n';
    const { problems } = await loadRunbookText(text, 'c.yaml', { kinds: STEP_KINDS });
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/write one query, not 2 statements/),
      expect.stringMatching(/"DELETE FROM t" does not only read/),
    ]);
  });
});

describe('check step', () => {
  it('passes with evidence when the condition holds', async () => {
    await db.query('CREATE TABLE orders (id int, cents bigint); INSERT INTO orders VALUES (1, 100), (2, 200)');
    const step = makeStep('check', cond({ query: 'SELECT count(*) AS missing FROM orders WHERE cents IS NULL', expect: '= 0' }));
    ctx = await makeTestStepContext({ url: db.url, step });
    expect(await checkKind.apply(step, ctx)).toEqual({ ok: true, value: '0', rows: 1 });
    const ev = ctx.events.find((e) => e.type === 'step.evidence') as any;
    expect(ev.evidence).toEqual([{ label: 'missing = 0', value: '0', ok: true, detail: step.params.query }]);
    expect(await checkKind.verify!(step, ctx)).toEqual(ev.evidence);
  });

  it('fails with the actual value', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS orders (id int, cents bigint); INSERT INTO orders VALUES (3, NULL)');
    const step = makeStep(
      'check',
      cond({ query: 'SELECT count(*) AS missing FROM orders WHERE cents IS NULL', expect: '= 0', rows: 'nonempty' }),
    );
    ctx = await makeTestStepContext({ url: db.url, step });
    const err: any = await checkKind.apply(step, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(RunbookError);
    expect(err.message).toBe('check failed: missing is 1 (expected = 0), 1 row (expected > 0 (nonempty))');
    const ev = ctx.events.find((e) => e.type === 'step.evidence') as any;
    expect(ev.evidence.map((e: any) => e.ok)).toEqual([false, true]);
  });

  it('runs the query read-only', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS orders (id int, cents bigint)');
    const step = makeStep('check', cond({ query: 'WITH d AS (DELETE FROM orders RETURNING 1) SELECT count(*) FROM d', expect: '>= 0' }));
    ctx = await makeTestStepContext({ url: db.url, step });
    await expect(checkKind.apply(step, ctx)).rejects.toThrow(/the query tried to write/);
    expect(Number((await db.query('SELECT count(*) AS n FROM orders'))[0].n)).toBeGreaterThan(0);
  });

  it('plans a read-only, reversible step', async () => {
    const step = makeStep('check', cond({ query: 'SELECT 1', rows: 1 }));
    const plan = await checkKind.plan(step, { runbook: makeRunbook([step]) });
    expect(plan).toMatchObject({ reversible: true, locks: [], notes: ['read-only; passes when rows = 1'] });
  });
});
