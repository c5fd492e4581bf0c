// The rollback lesson (a lesson with `bad_deploy`): the change breaks the application's writes.
// The naive way has nothing prepared to undo it: the errors go on while someone finds the change
// and types its inverse. The safe way's runbook deployed the same change, so the way back is ready:
// pgrunbook watches its own traffic's errors, as an on-call engineer watches the error rate, asks
// the trainee (the lesson's bad_deploy drill: roll back now, wait, keep going), and runs the
// runbook's rollback phase (what `pgrunbook run FILE --phase rollback` does) when the answer says so.
import { loadRunbookFile } from '../runbook/load.js';
import { redactedMessage } from '../util/secrets.js';
import { formatMs } from '../util/units.js';
import { askDrill, drillResult, formatSecs, type DrillAnswer, type DrillResult } from './drill-answer.js';
import type { LatencyRecorder } from './latency-recorder.js';
import type { LearnContext } from './learn-context.js';
import type { Drill, Lesson } from './lesson.js';
import { setTimeout as sleep } from 'node:timers/promises';

type BadDeploy = NonNullable<Lesson['bad_deploy']>;

export interface RollbackFigures {
  /** Requests that failed from the deploy to the end of the rollback, of all started then. */
  errorsDuring: number;
  requestsDuring: number;
  /** From the application's first error to the end of the rollback; undefined when nothing failed. */
  restoreMs?: number;
  status: string;
  error?: string;
  /** Requests started in the watch after the rollback, and how many of them failed. */
  errorsAfter: number;
  requestsAfter: number;
}

interface RollbackRun {
  firstErrorAt?: number;
  endedAt: number;
  status: string;
  error?: string;
  /** The trainee's answer, scored, with the errors measured around it. */
  drill?: DrillResult;
}

/** The naive way's aftermath: the errors go on until the fix is typed by hand (the lesson's `reset`). */
export async function fixByHand(ctx: LearnContext, lesson: Lesson, bad: BadDeploy, recorder: LatencyRecorder): Promise<void> {
  await sleep(500);
  const failed = recorder.figures('naive').failed;
  ctx.say(
    `naive: the application's writes fail now (${failed} failed so far${recorder.lastFailure ? `: ${redactedMessage(recorder.lastFailure)}` : ''}). ` +
      `Nothing was prepared to undo the change: someone has to find it and type its inverse. pgrunbook waits ${formatMs(bad.fix_by_hand_after)} ` +
      `for that (a stand-in: in a real incident it takes minutes), then runs: ${lesson.reset.trim()}`,
  );
  await sleep(Math.max(0, bad.fix_by_hand_after - 500));
}

async function firstErrors(lesson: Lesson, bad: BadDeploy, recorder: LatencyRecorder): Promise<number | undefined> {
  const until = performance.now() + lesson.cap;
  for (;;) {
    const first = recorder.firstFailureAt('safe');
    if (first !== undefined && performance.now() - first >= bad.roll_back_after) return first;
    if (performance.now() > until) return first;
    await sleep(100);
  }
}

/**
 * The drill's answer, acted on: roll back now; wait (the errors are watched for another `watch`);
 * keep going (the errors go on until the lesson's cap from the first error; then pgrunbook rolls
 * back anyway so that the lesson can end, and says so).
 */
async function decide(
  ctx: LearnContext,
  lesson: Lesson,
  bad: BadDeploy,
  drill: Drill,
  firstErrorAt: number,
  recorder: LatencyRecorder,
): Promise<DrillAnswer> {
  const answer = await askDrill(ctx, lesson, drill);
  if (answer.choice.action === 'wait') {
    ctx.say(`drill: watching the errors for another ${formatMs(bad.watch)} before deciding`);
    const from = performance.now();
    await sleep(bad.watch);
    // Said from the requests that failed during the watch, not assumed.
    const failed = recorder.failedBetween(from, performance.now());
    ctx.say(
      failed
        ? `drill: ${failed} more application requests failed while watching: the errors did not stop by themselves; rolling back`
        : 'drill: no application request failed while watching; rolling back the bad deploy all the same',
    );
  } else if (answer.choice.action === 'keep_going') {
    const left = firstErrorAt + lesson.cap - performance.now();
    ctx.say(
      `drill: keeping the deploy; the application's writes keep failing. The lesson rolls back at its cap, ${formatMs(lesson.cap)} after the first error (${formatMs(Math.max(0, left))} from now), so that it can end`,
    );
    await sleep(Math.max(0, left));
  }
  return answer;
}

function drillLine(recorder: LatencyRecorder, drill: Drill, answer: DrillAnswer, run: RollbackRun): DrillResult {
  const answeredAt = answer.askedAt + answer.decidedMs;
  const before = recorder.failedBetween(run.firstErrorAt!, answer.askedAt);
  const after = recorder.failedBetween(answeredAt, run.endedAt);
  const effect = `The rollback ${run.status} ${formatSecs(run.endedAt - answeredAt)} after your answer.`;
  const measured =
    `measured: ${before} requests had failed in the ${formatSecs(answer.askedAt - run.firstErrorAt!)} from the first error to the question; ` +
    `${after} more failed from your answer to the end of the rollback.`;
  return drillResult(drill, answer, effect, measured);
}

/** After the safe way's deploy: wait for the errors, ask (a bad_deploy drill), roll back, then watch the application. */
export async function rollBackOnErrors(ctx: LearnContext, lesson: Lesson, bad: BadDeploy, recorder: LatencyRecorder): Promise<RollbackRun> {
  const firstErrorAt = await firstErrors(lesson, bad, recorder);
  if (firstErrorAt === undefined) {
    ctx.say(`safe: no application request failed within ${formatMs(lesson.cap)} of the deploy; nothing to roll back`);
    return { endedAt: performance.now(), status: 'not run' };
  }
  const f = recorder.figures('safe');
  const seen = `${f.failed} application requests failed in the ${formatMs(performance.now() - firstErrorAt)} since the first error${recorder.lastFailure ? ` (${redactedMessage(recorder.lastFailure)})` : ''}`;
  const drill = lesson.drill?.fault === 'bad_deploy' ? lesson.drill : undefined;
  ctx.say(`safe: ${seen}${drill ? '' : ": rolling back with the runbook's rollback phase"}`);
  const answer = drill && (await decide(ctx, lesson, bad, drill, firstErrorAt, recorder));
  recorder.setPhase('rollback');
  const loaded = await loadRunbookFile(lesson.runbookFile, { kinds: ctx.kinds });
  const runner = ctx.newRunner({
    runbook: loaded.runbook!,
    connection: ctx.connection,
    gates: ctx.wiring.gates,
    nonInteractive: ctx.mode !== 'ink',
    journalDir: null,
    phases: ['rollback'],
    metrics: () => ctx.wiring.metrics(),
  });
  await ctx.wiring.attach(runner, { connection: ctx.connection, relations: ['orders'] });
  try {
    const outcome = await runner.run();
    const endedAt = performance.now();
    recorder.setPhase('restored');
    ctx.say(
      `safe: the rollback ${outcome.status} ${formatMs(endedAt - firstErrorAt)} after the first error; watching the application for ${formatMs(bad.watch)}`,
    );
    await sleep(bad.watch);
    const run: RollbackRun = {
      firstErrorAt,
      endedAt,
      status: outcome.status,
      error: outcome.error ? redactedMessage(outcome.error) : undefined,
    };
    return answer && drill ? { ...run, drill: drillLine(recorder, drill, answer, run) } : run;
  } finally {
    await ctx.wiring.detach();
  }
}

/** The figures, once every request of the phases has ended. */
export function rollbackFigures(recorder: LatencyRecorder, run: RollbackRun): RollbackFigures {
  const safe = recorder.figures('safe');
  const during = recorder.figures('rollback');
  const after = recorder.figures('restored');
  return {
    errorsDuring: safe.failed + during.failed,
    requestsDuring: safe.requests + safe.failed + during.requests + during.failed,
    restoreMs: run.firstErrorAt === undefined ? undefined : run.endedAt - run.firstErrorAt,
    status: run.status,
    error: run.error,
    errorsAfter: after.failed,
    requestsAfter: after.requests + after.failed,
  };
}
