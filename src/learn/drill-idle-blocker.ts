// The idle_blocker drill: a forgotten session idle in transaction on the table, so the runbook's
// DDL keeps timing out; the question comes after `ask_after_retries` lock timeouts.
import type { RunEvent } from '../engine/events.js';
import type { Runner } from '../engine/runner.js';
import {
  abortChange,
  drillAsking,
  drillResult,
  runEffect,
  terminateBlocker,
  waitUntilCap,
  type ArmedDrill,
  type DrillAnswer,
} from './drill-answer.js';
import { HeldTransaction } from './held-transaction.js';
import type { LearnContext } from './learn-context.js';
import type { Drill, Lesson } from './lesson.js';

async function act(ctx: LearnContext, runner: Runner, blocker: HeldTransaction, a: DrillAnswer, capMs: number) {
  if (a.choice.action === 'terminate_blocker' && blocker.pid)
    await terminateBlocker(ctx, blocker.pid, blocker.application, 'its transaction rolls back');
  else if (a.choice.action === 'abort') abortChange(ctx, runner, 'the change; the table is left as the last completed step left it');
  else return waitUntilCap(ctx, runner, capMs, 'the runbook keeps retrying');
  return undefined;
}

export async function armIdleBlocker(ctx: LearnContext, lesson: Lesson, drill: Drill, runner: Runner): Promise<ArmedDrill> {
  const blocker = new HeldTransaction(ctx.url, 'idle_blocker', 'orders');
  await blocker.begin();
  ctx.say(`drill: a session (${blocker.application}, pid ${blocker.pid}) is idle in transaction on orders`);
  let retries = 0;
  const asking = drillAsking(ctx, lesson, drill, runner);
  const off = runner.bus.on((e: RunEvent) => {
    if (e.type === 'step.retry' && ++retries === drill.ask_after_retries) asking.ask((a) => act(ctx, runner, blocker, a, lesson.cap));
  });
  return {
    end: async () => {
      off();
      asking.stop();
      await blocker.end();
    },
    result: (status, endedAt) => {
      const a = asking.answer;
      return a && drillResult(drill, a, runEffect(a, status, endedAt));
    },
  };
}
