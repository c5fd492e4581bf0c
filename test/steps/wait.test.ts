import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/util/clock.js';
import { AbortedError, RunbookError } from '../../src/util/runbook-error.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import type { StepSpec } from '../../src/runbook/model.js';
import { waitKind, type WaitParams } from '../../src/steps/wait.js';
import { makeTestStepContext, type TestStepContext } from '../support/step-context.js';
import { useTestDatabase } from '../support/pg.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const db = useTestDatabase();
let ctx: TestStepContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

async function step(yaml: string): Promise<StepSpec<WaitParams>> {
  const { runbook, problems } = await loadRunbookText(`version: 1\nname: w\nphases:\n  monitor:\n    - id: w\n${yaml}`, 'w.yaml', {
    kinds: STEP_KINDS,
  });
  expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
  return runbook!.phases.monitor[0] as StepSpec<WaitParams>;
}

/** Waits (in real time) until the step sleeps on the fake clock. */
async function sleeping(clock: FakeClock): Promise<void> {
  const end = Date.now() + 30_000; // generous: the machine may be busy
  while (clock.pendingSleeps === 0) {
    if (Date.now() > end) throw new Error('the step never slept');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function advanceWhenSleeping(clock: FakeClock, ms: number): Promise<void> {
  await sleeping(clock);
  clock.advance(ms);
}

describe('wait step', () => {
  it('waits a duration on the injected clock', async () => {
    const clock = new FakeClock();
    const s = await step('      wait: 5m\n');
    expect(s.params).toEqual({ for: 300_000 });
    ctx = await makeTestStepContext({ url: db.url, step: s, clock });
    let done = false;
    const p = waitKind.apply(s, ctx).then((r) => ((done = true), r));
    await advanceWhenSleeping(clock, 299_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    clock.advance(1);
    expect(await p).toEqual({ waitedMs: 300_000 });
    expect(ctx.events.filter((e) => e.type === 'step.progress').map((e: any) => e.progress.done)).toEqual([0, 300_000]);
  });

  it('polls until the condition holds', async () => {
    await db.query('CREATE TABLE jobs (done bool); INSERT INTO jobs VALUES (false), (false)');
    const clock = new FakeClock();
    const s = await step(
      '      wait:\n        until: { query: "SELECT count(*) FROM jobs WHERE NOT done", expect: "= 0" }\n        timeout: 10m\n        interval: 10s\n',
    );
    ctx = await makeTestStepContext({ url: db.url, step: s, clock });
    const p = waitKind.apply(s, ctx);
    await advanceWhenSleeping(clock, 10_000);
    await sleeping(clock); // change the data only while the step sleeps between polls
    await db.query('UPDATE jobs SET done = true');
    clock.advance(10_000);
    expect(await p).toEqual({ waitedMs: 20_000, polls: 3, value: '0' });
    const logs = ctx.events.filter((e) => e.type === 'step.log').map((e: any) => e.message);
    expect(logs).toEqual(['not yet: count is 2 (expected = 0)', 'condition met after 20s: count is 0 (expected = 0)']);
    expect(ctx.events.some((e) => e.type === 'step.evidence')).toBe(true);
  });

  it('fails with the last value when the timeout passes', async () => {
    const clock = new FakeClock();
    const s = await step(
      '      wait:\n        until: { query: "SELECT 41 AS answer", expect: "= 42" }\n        timeout: 25s\n        interval: 10s\n',
    );
    ctx = await makeTestStepContext({ url: db.url, step: s, clock });
    const p = waitKind.apply(s, ctx).catch((e) => e);
    await advanceWhenSleeping(clock, 10_000);
    await advanceWhenSleeping(clock, 10_000);
    await advanceWhenSleeping(clock, 5_000);
    const err: any = await p;
    expect(err).toBeInstanceOf(RunbookError);
    expect(err.message).toBe('condition not met within 25s (4 polls): answer is 41 (expected = 42)');
  });

  it('stops at once when aborted', async () => {
    const clock = new FakeClock();
    const s = await step('      wait: 1h\n');
    ctx = await makeTestStepContext({ url: db.url, step: s, clock });
    const p = waitKind.apply(s, ctx).catch((e) => e);
    await advanceWhenSleeping(clock, 0);
    ctx.abort.abort();
    expect(await p).toBeInstanceOf(AbortedError);
  });

  it('requires a timeout for until, and rejects for+until', async () => {
    const text = (w: string) => `version: 1\nname: w\nphases:\n  monitor:\n    - id: w\n      wait:\n${w}`;
    const noTimeout = await loadRunbookText(text('        until: { query: SELECT 1, rows: 1 }\n'), 'w.yaml', { kinds: STEP_KINDS });
    expect(noTimeout.problems.map((p) => p.message)).toEqual([expect.stringMatching(/wait\.until has no timeout/)]);
    const both = await loadRunbookText(text('        for: 1m\n        until: { query: SELECT 1, rows: 1 }\n'), 'w.yaml', {
      kinds: STEP_KINDS,
    });
    expect(both.problems.map((p) => p.message)).toEqual([expect.stringMatching(/either for: DURATION or until/)]);
    const badDuration = await loadRunbookText(text('        for: 2 parsecs\n'), 'w.yaml', { kinds: STEP_KINDS });
    expect(badDuration.problems.map((p) => `${p.pos.line}:${p.pos.col} ${p.message}`)).toEqual([
      expect.stringMatching(/^7:14 wait\.for: bad duration "2 parsecs"/),
    ]);
  });
});
