// A drill: during the safe way a fault is injected (a forgotten session idle in transaction on the
// table: the runbook's DDL keeps timing out), the trainee is asked what to do, pgrunbook does it,
// and the answer is scored against what an experienced operator would do.
import type { RunEvent } from '../engine/events.js';
import type { Runner } from '../engine/runner.js';
import { HeldTransaction } from './held-transaction.js';
import type { LearnContext } from './learn-context.js';
import type { Drill, DrillChoice, Lesson } from './lesson.js';
import type { DrillResult } from './summary.js';

export interface ArmedDrill {
  /** Resolves with the trainee's answer once asked (never, when the run ended first). */
  answered: Promise<{ choice: DrillChoice; decidedMs: number; askedAt: number } | undefined>;
  /** Ends the fault (the forgotten session) and the drill's timers. */
  end(): Promise<void>;
  result(status: string, endedAt: number): DrillResult | undefined;
}

function best(drill: Drill): DrillChoice {
  return drill.choices.reduce((b, c) => (c.score > b.score ? c : b));
}

async function act(
  ctx: LearnContext,
  runner: Runner,
  blocker: HeldTransaction,
  choice: DrillChoice,
  capMs: number,
): Promise<NodeJS.Timeout | undefined> {
  if (choice.action === 'terminate_blocker' && blocker.pid) {
    ctx.say(`drill: ending pid ${blocker.pid} (${blocker.application}); its transaction rolls back`);
    await ctx.admin.query('SELECT pg_terminate_backend($1)', [blocker.pid]);
  } else if (choice.action === 'abort') {
    ctx.say('drill: aborting the change; the table is left as the last completed step left it');
    runner.abort('the trainee aborted the change (drill)');
  } else {
    ctx.say(`drill: waiting; the runbook keeps retrying (the lesson's cap stops it after ${Math.round(capMs / 1000)} s)`);
    return setTimeout(() => runner.abort(`the lesson's cap (${Math.round(capMs / 1000)} s) stopped the wait`), capMs);
  }
  return undefined;
}

export async function armDrill(ctx: LearnContext, lesson: Lesson, drill: Drill, runner: Runner): Promise<ArmedDrill> {
  const blocker = new HeldTransaction(ctx.url, drill.fault, 'orders');
  await blocker.begin();
  ctx.say(`drill: a session (${blocker.application}, pid ${blocker.pid}) is idle in transaction on orders`);
  let retries = 0;
  let capTimer: NodeJS.Timeout | undefined;
  let done: DrillResult['choice'] | undefined;
  let decided = 0;
  let askedAt = 0;
  let off: () => void = () => {};
  const answered = new Promise<{ choice: DrillChoice; decidedMs: number; askedAt: number } | undefined>((resolve) => {
    off = runner.bus.on((e: RunEvent) => {
      if (e.type !== 'step.retry' || ++retries !== drill.ask_after_retries) return;
      askedAt = performance.now();
      void ctx
        .ask(lesson.id, { text: drill.question.trim(), choices: drill.choices.map((c) => ({ key: c.key, label: c.label })) })
        .then(async (key) => {
          const choice = drill.choices.find((c) => c.key === key) ?? best(drill);
          done = choice;
          decided = performance.now() - askedAt;
          capTimer = await act(ctx, runner, blocker, choice, lesson.cap);
          resolve({ choice, decidedMs: decided, askedAt });
        })
        .catch((err: Error) => {
          runner.abort(err.message);
          resolve(undefined);
        });
    });
  });
  return {
    answered,
    end: async () => {
      off();
      clearTimeout(capTimer);
      await blocker.end();
    },
    result: (status, endedAt) => {
      if (!done) return undefined;
      const b = best(drill);
      const after = formatSecs(endedAt - askedAt - decided);
      const effect =
        status === 'completed'
          ? `The runbook completed ${after} after your answer.`
          : `The runbook ended ${status} ${after} after your answer.`;
      return { choice: done, best: b, max: b.score, decidedMs: decided, effect };
    },
  };
}

function formatSecs(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}
