// One lesson, start to end: a fresh table and live traffic, the naive way (with production's
// held transaction, and the cap), a reset, the safe way (the lesson's runbook through the normal
// runner and run wiring, a drill if the lesson has one), then the side-by-side summary.
import { seedOrders } from '../demo/seed.js';
import { SyntheticTraffic } from '../demo/traffic.js';
import { loadRunbookFile } from '../runbook/load.js';
import { formatProblem } from '../runbook/model.js';
import { redactedMessage } from '../util/secrets.js';
import { formatMs } from '../util/units.js';
import { armDrill, type ArmedDrill } from './drill.js';
import { HeldTransaction } from './held-transaction.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { LearnContext } from './learn-context.js';
import type { LessonPhase } from './learn-store.js';
import type { Lesson } from './lesson.js';
import { runNaive, type NaiveResult } from './naive-way.js';
import { summaryLines, type LessonResult } from './summary.js';

const TICK_MS = 250;

function enter(ctx: LearnContext, recorder: LatencyRecorder, phase: LessonPhase, script: string): void {
  recorder.setPhase(phase);
  ctx.store.setState({ phase, script: script.trim(), status: undefined, counter: undefined });
  if (ctx.mode !== 'ink') for (const line of script.trim().split('\n')) ctx.say(`${phase}: ${line}`);
}

/** Lets the requests that started in a phase finish, so its figures are complete. */
async function settle(recorder: LatencyRecorder, limitMs = 15_000): Promise<void> {
  const until = performance.now() + limitMs;
  while (recorder.live().inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
}

/** The screen's latency panel every 250 ms; a line a second without a terminal. */
function ticker(ctx: LearnContext, recorder: LatencyRecorder): () => void {
  let n = 0;
  const t = setInterval(() => {
    const live = recorder.live();
    const phase = ctx.store.getState().phase;
    if (phase === 'naive' || phase === 'safe') ctx.store.setState({ live, counter: recorder.figures(phase) });
    else ctx.store.setState({ live });
    if (ctx.mode === 'ink' || ++n % 4 !== 0 || (phase !== 'naive' && phase !== 'safe')) return;
    const sample = ctx.ui.getState().sample;
    const waiting = sample?.locks.filter((l) => l.blockedBy.length > 0).length ?? 0;
    ctx.say(
      `${phase}: app ${live.perSecond} req/s, ${live.inFlight} in flight, ${live.waitingNow} waiting over ${formatMs(ctx.store.getState().barMs)}, oldest ${formatMs(live.oldestInFlightMs)} · locks: ${waiting} sessions waiting`,
    );
  }, TICK_MS);
  return () => clearInterval(t);
}

async function naiveWay(ctx: LearnContext, lesson: Lesson, recorder: LatencyRecorder): Promise<NaiveResult> {
  enter(ctx, recorder, 'naive', lesson.script.naive);
  const hold = new HeldTransaction(ctx.url, lesson.hold.kind, 'orders');
  await hold.begin(lesson.hold.for);
  ctx.say(`naive: ${hold.application} (pid ${hold.pid}) holds a lock on orders for ${formatMs(lesson.hold.for)}`);
  ctx.say(`naive: running, with no lock_timeout: ${lesson.naive.trim()}`);
  try {
    const run = await runNaive(ctx.url, lesson.naive, lesson.cap);
    const end = run.capped
      ? `the ${formatMs(lesson.cap)} cap stopped the naive change (in production it would have kept waiting, and the app with it)`
      : run.error
        ? `the naive change failed after ${formatMs(run.ms)}: ${run.error}`
        : `the naive change finished after ${formatMs(run.ms)}`;
    ctx.store.setState({ status: end });
    ctx.say(`naive: ${end}`);
    return run;
  } finally {
    await hold.end();
  }
}

interface SafeOutcome {
  status: string;
  error?: string;
  drill?: ArmedDrill;
  endedAt: number;
}

async function safeWay(ctx: LearnContext, lesson: Lesson, recorder: LatencyRecorder): Promise<SafeOutcome> {
  const loaded = await loadRunbookFile(lesson.runbookFile, { kinds: ctx.kinds });
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (!loaded.runbook || errors.length) throw new Error(`the lesson's runbook does not load:\n${errors.map(formatProblem).join('\n')}`);
  enter(ctx, recorder, 'safe', lesson.script.safe);
  const runner = ctx.newRunner({
    runbook: loaded.runbook,
    connection: ctx.connection,
    gates: ctx.wiring.gates,
    nonInteractive: ctx.mode !== 'ink',
    journalDir: null,
    metrics: () => ctx.wiring.metrics(),
  });
  await ctx.wiring.attach(runner, { connection: ctx.connection, relations: ['orders'] });
  const hold = new HeldTransaction(ctx.url, lesson.hold.kind, 'orders');
  let drill: ArmedDrill | undefined;
  try {
    await hold.begin(lesson.hold.for);
    ctx.say(`safe: ${hold.application} (pid ${hold.pid}) holds a lock on orders for ${formatMs(lesson.hold.for)}, as before`);
    if (lesson.drill) drill = await armDrill(ctx, lesson, lesson.drill, runner);
    const outcome = await runner.run();
    const endedAt = performance.now();
    ctx.say(`safe: the runbook ${outcome.status}`);
    return { status: outcome.status, error: outcome.error ? redactedMessage(outcome.error) : undefined, drill, endedAt };
  } finally {
    await drill?.end();
    await hold.end();
    await ctx.wiring.detach();
  }
}

async function prepare(ctx: LearnContext, lesson: Lesson): Promise<void> {
  ctx.store.setState({
    phase: 'starting',
    lessonTitle: lesson.title,
    script: lesson.script.intro.trim(),
    summary: [],
    barMs: lesson.bar,
    capMs: lesson.cap,
  });
  if (ctx.mode !== 'ink') ctx.say(`lesson ${lesson.id}: ${lesson.title}\n${lesson.script.intro.trim()}`);
  ctx.say(`seeding orders (${lesson.rows} rows)…`);
  await seedOrders(ctx.admin, lesson.rows);
  if (lesson.setup) await ctx.admin.query(lesson.setup);
}

export async function runLesson(ctx: LearnContext, lesson: Lesson): Promise<LessonResult> {
  await prepare(ctx, lesson);
  const recorder = new LatencyRecorder(lesson.bar);
  const traffic = new SyntheticTraffic({
    connectionString: ctx.url,
    rows: lesson.rows,
    rate: ctx.rate,
    queueWhenBusy: true,
    observer: recorder,
    longTxFirstMs: 0,
    longTxEveryMs: 0,
    blockerFirstMs: 0,
    blockerEveryMs: 0,
  });
  traffic.start();
  const stopTicker = ticker(ctx, recorder);
  try {
    // A moment of normal traffic first: connections open, and the panel shows what normal looks like.
    await new Promise((r) => setTimeout(r, 1500));
    const naive = await naiveWay(ctx, lesson, recorder);
    recorder.setPhase('reset');
    await settle(recorder);
    ctx.store.setState({ phase: 'reset', status: 'putting the table back for the safe way' });
    await ctx.admin.query(lesson.reset);
    const safe = await safeWay(ctx, lesson, recorder);
    recorder.setPhase('after');
    await settle(recorder);
    const drill = safe.drill?.result(safe.status, safe.endedAt);
    const safeFigures = recorder.figures('safe');
    const result: LessonResult = {
      lesson,
      serverVersion: ctx.serverVersion,
      naive: { figures: recorder.figures('naive'), run: naive },
      safe: { figures: safeFigures, status: safe.status, error: safe.status === 'completed' ? undefined : safe.error },
      drill,
      passed: safeFigures.overBar === 0 && (safe.status === 'completed' || (!!drill && safe.status === 'aborted')),
    };
    const lines = summaryLines(result);
    ctx.store.setState({ phase: 'summary', script: lesson.script.takeaway.trim(), summary: lines, status: undefined });
    if (ctx.mode !== 'ink') for (const l of [...lines, `takeaway: ${lesson.script.takeaway.trim()}`]) ctx.say(l);
    return result;
  } finally {
    stopTicker();
    await traffic.stop();
  }
}
