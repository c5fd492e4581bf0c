// What every drill shares: asking the trainee (the screen's keys or a scripted --answer), the
// answer and when it came, and the scored result the summary explains. The faults themselves
// (what is injected, when the question comes, what each action does) are one file each.
import type { Runner } from '../engine/runner.js';
import { InputError } from '../util/runbook-error.js';
import type { LearnContext } from './learn-context.js';
import type { Drill, DrillChoice, Lesson } from './lesson.js';

export interface DrillResult {
  choice: DrillChoice;
  best: DrillChoice;
  max: number;
  /** From the question to the answer. */
  decidedMs: number;
  /** What happened after the answer, in one sentence. */
  effect: string;
  /** What the run measured of the fault, when the drill measures it. */
  measured?: string;
}

export interface DrillAnswer {
  choice: DrillChoice;
  /** When the question was asked (performance.now()). */
  askedAt: number;
  /** From the question to the answer. */
  decidedMs: number;
}

/** A drill injected into the safe way's run. */
export interface ArmedDrill {
  /** Ends the fault and the drill's timers. */
  end(): Promise<void>;
  /** The scored answer, once the run has ended with `status` at `endedAt`; undefined when it was never asked. */
  result(status: string, endedAt: number): DrillResult | undefined;
}

export function bestChoice(drill: Drill): DrillChoice {
  return drill.choices.reduce((b, c) => (c.score > b.score ? c : b));
}

export async function askDrill(ctx: LearnContext, lesson: Lesson, drill: Drill): Promise<DrillAnswer> {
  const askedAt = performance.now();
  const key = await ctx.ask(lesson.id, {
    text: drill.question.trim(),
    choices: drill.choices.map((c) => ({ key: c.key, label: c.label })),
  });
  const choice = drill.choices.find((c) => c.key === key);
  if (!choice)
    throw new InputError(
      `"${key}" is not an answer to the drill of ${lesson.id}`,
      `answer with one of ${drill.choices.map((c) => c.key).join(', ')}`,
    );
  return { choice, askedAt, decidedMs: performance.now() - askedAt };
}

/** One drill's question, asked once: the answer, and the timer its action may leave (wait's cap). */
export interface DrillAsking {
  answer?: DrillAnswer;
  /** Asks, then carries out the answer with `act`; a failed ask (no scripted answer) aborts the run with its reason. */
  ask(act: (a: DrillAnswer) => Promise<NodeJS.Timeout | undefined>): void;
  /** Clears the cap timer, if the answer left one. */
  stop(): void;
}

export function drillAsking(ctx: LearnContext, lesson: Lesson, drill: Drill, runner: Runner): DrillAsking {
  let capTimer: NodeJS.Timeout | undefined;
  const asking: DrillAsking = {
    ask: (act) => {
      void askDrill(ctx, lesson, drill)
        .then(async (a) => {
          asking.answer = a;
          capTimer = await act(a);
        })
        .catch((err: Error) => runner.abort(err.message));
    },
    stop: () => clearTimeout(capTimer),
  };
  return asking;
}

/** `terminate_blocker`: ends the blocking session; `consequence` says what that does to its work. */
export async function terminateBlocker(
  ctx: LearnContext,
  pid: number | undefined,
  application: string,
  consequence: string,
): Promise<void> {
  ctx.say(`drill: ending pid ${pid} (${application}); ${consequence}`);
  await ctx.admin.query('SELECT pg_terminate_backend($1)', [pid]);
}

/** `abort`: the runner stops the change; `left` says what state the change leaves behind. */
export function abortChange(ctx: LearnContext, runner: Runner, left: string): void {
  ctx.say(`drill: aborting ${left}`);
  runner.abort('the trainee aborted the change (drill)');
}

/** `wait`: nothing is done; the lesson's cap aborts the run if it is still waiting then. */
export function waitUntilCap(ctx: LearnContext, runner: Runner, capMs: number, what: string): NodeJS.Timeout {
  const secs = Math.round(capMs / 1000);
  ctx.say(`drill: waiting; ${what} (the lesson's cap stops it after ${secs} s)`);
  return setTimeout(() => runner.abort(`the lesson's cap (${secs} s) stopped the wait`), capMs);
}

export function formatSecs(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

/** The runbook's outcome after the answer, measured. */
export function runEffect(answer: DrillAnswer, status: string, endedAt: number): string {
  const after = formatSecs(endedAt - answer.askedAt - answer.decidedMs);
  return status === 'completed'
    ? `The runbook completed ${after} after your answer.`
    : `The runbook ended ${status} ${after} after your answer.`;
}

export function drillResult(drill: Drill, answer: DrillAnswer, effect: string, measured?: string): DrillResult {
  const best = bestChoice(drill);
  return { choice: answer.choice, best, max: best.score, decidedMs: answer.decidedMs, effect, measured };
}
