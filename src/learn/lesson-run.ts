// One lesson, start to end: a fresh table and live traffic, the naive way (with production's
// held transaction, and the cap), a reset, the safe way (the lesson's runbook through the normal
// runner and run wiring, a drill if the lesson has one), then the side-by-side summary.
import { seedOrders } from '../demo/seed.js';
import { SyntheticTraffic } from '../demo/traffic.js';
import { loadRunbookFile } from '../runbook/load.js';
import { formatProblem } from '../runbook/model.js';
import { redactedMessage } from '../util/secrets.js';
import { formatMs } from '../util/units.js';
import { fixByHand, rollBackOnErrors, rollbackFigures } from './bad-deploy.js';
import { armDrill } from './drill.js';
import type { ArmedDrill } from './drill-answer.js';
import { HeldTransaction } from './held-transaction.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { LearnContext } from './learn-context.js';
import type { LessonPhase } from './learn-store.js';
import type { Lesson } from './lesson.js';
import { LessonStandby } from './lesson-standby.js';
import { runNaive, type NaiveResult } from './naive-way.js';
import { summaryLines, type LessonResult } from './summary.js';

const TICK_MS = 250;

function enter(ctx: LearnContext, recorder: LatencyRecorder, phase: LessonPhase, script: string, standby?: LessonStandby): void {
  recorder.setPhase(phase);
  standby?.setPhase(phase);
  ctx.store.setState({ phase, script: script.trim(), status: undefined, counter: undefined });
  if (ctx.mode !== 'ink') for (const line of script.trim().split('\n')) ctx.say(`${phase}: ${line}`);
}

/**
 * Stops the traffic and lets every request it issued end (those queued for the pool during a
 * block included), so a phase's figures are complete and its backlog does not spill into the
 * next phase's (under machine load that backlog can take seconds to drain).
 */
async function drain(ctx: LearnContext, traffic: SyntheticTraffic): Promise<void> {
  if (!(await traffic.pause()))
    ctx.say('some application requests were still waiting after 30 s; the figures count them where they started');
}

/** The screen's latency panel every 250 ms; a line a second without a terminal. */
function ticker(ctx: LearnContext, recorder: LatencyRecorder, standby?: LessonStandby): () => void {
  let n = 0;
  const t = setInterval(() => {
    const live = recorder.live();
    const phase = ctx.store.getState().phase;
    if (standby) ctx.store.setState({ standby: standby.line() });
    if (phase === 'naive' || phase === 'safe') ctx.store.setState({ live, counter: recorder.figures(phase) });
    else ctx.store.setState({ live });
    if (ctx.mode === 'ink' || ++n % 4 !== 0 || (phase !== 'naive' && phase !== 'safe')) return;
    const sample = ctx.ui.getState().sample;
    const waiting = sample?.locks.filter((l) => l.blockedBy.length > 0).length ?? 0;
    ctx.say(
      `${phase}: app ${live.perSecond} req/s, ${live.inFlight} in flight, ${live.waitingNow} waiting over ${formatMs(ctx.store.getState().barMs)}, oldest ${formatMs(live.oldestInFlightMs)} · locks: ${waiting} sessions waiting${standby ? ` · ${standby.line()}` : ''}`,
    );
  }, TICK_MS);
  return () => clearInterval(t);
}

async function naiveWay(ctx: LearnContext, lesson: Lesson, recorder: LatencyRecorder, standby?: LessonStandby): Promise<NaiveResult> {
  enter(ctx, recorder, 'naive', lesson.script.naive, standby);
  const hold = lesson.hold && new HeldTransaction(ctx.url, lesson.hold.kind, 'orders');
  if (hold && lesson.hold) {
    await hold.begin(lesson.hold.for);
    ctx.say(`naive: ${hold.application} (pid ${hold.pid}) holds a lock on orders for ${formatMs(lesson.hold.for)}`);
  }
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
    await standby?.watchBackUnderBar(ctx, lesson.cap);
    return run;
  } finally {
    await hold?.end();
  }
}

interface SafeOutcome {
  status: string;
  error?: string;
  drill?: ArmedDrill;
  endedAt: number;
}

async function safeWay(ctx: LearnContext, lesson: Lesson, recorder: LatencyRecorder, standby?: LessonStandby): Promise<SafeOutcome> {
  const loaded = await loadRunbookFile(lesson.runbookFile, { kinds: ctx.kinds });
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (!loaded.runbook || errors.length) throw new Error(`the lesson's runbook does not load:\n${errors.map(formatProblem).join('\n')}`);
  enter(ctx, recorder, 'safe', lesson.script.safe, standby);
  const runner = ctx.newRunner({
    runbook: loaded.runbook,
    connection: ctx.connection,
    gates: ctx.wiring.gates,
    nonInteractive: ctx.mode !== 'ink',
    journalDir: null,
    metrics: () => ctx.wiring.metrics(),
  });
  await ctx.wiring.attach(runner, { connection: ctx.connection, relations: ['orders'] });
  const hold = lesson.hold && new HeldTransaction(ctx.url, lesson.hold.kind, 'orders');
  let drill: ArmedDrill | undefined;
  try {
    if (hold && lesson.hold) {
      await hold.begin(lesson.hold.for);
      ctx.say(`safe: ${hold.application} (pid ${hold.pid}) holds a lock on orders for ${formatMs(lesson.hold.for)}, as before`);
    }
    if (lesson.drill) drill = await armDrill(ctx, lesson, lesson.drill, runner, recorder, standby);
    const outcome = await runner.run();
    const endedAt = performance.now();
    ctx.say(`safe: the runbook ${outcome.status}`);
    return { status: outcome.status, error: outcome.error ? redactedMessage(outcome.error) : undefined, drill, endedAt };
  } finally {
    await drill?.end();
    await hold?.end();
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
  const standby = lesson.standby && (await LessonStandby.start(ctx, lesson.standby));
  try {
    return await teachLesson(ctx, lesson, standby);
  } finally {
    await standby?.stop();
  }
}

async function teachLesson(ctx: LearnContext, lesson: Lesson, standby: LessonStandby | undefined): Promise<LessonResult> {
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
  const stopTicker = ticker(ctx, recorder, standby);
  try {
    // A moment of normal traffic first: connections open, and the panel shows what normal looks like.
    await new Promise((r) => setTimeout(r, 1500));
    const naive = await naiveWay(ctx, lesson, recorder, standby);
    const bad = lesson.bad_deploy;
    if (bad && !naive.capped && !naive.error) await fixByHand(ctx, lesson, bad, recorder);
    recorder.setPhase('reset');
    standby?.setPhase('reset');
    ctx.store.setState({ phase: 'reset', status: 'letting the queued requests finish, then putting the table back for the safe way' });
    await drain(ctx, traffic);
    await ctx.admin.query(lesson.reset);
    await standby?.catchUp(ctx);
    traffic.resume();
    // Normal traffic again before the safe way, as before the naive one.
    await new Promise((r) => setTimeout(r, 1000));
    const safe = await safeWay(ctx, lesson, recorder, standby);
    const back = bad && safe.status === 'completed' ? await rollBackOnErrors(ctx, lesson, bad, recorder) : undefined;
    recorder.setPhase('after');
    standby?.setPhase('after');
    await drain(ctx, traffic);
    const rollback = back && rollbackFigures(recorder, back);
    const drill = safe.drill?.result(safe.status, safe.endedAt) ?? back?.drill;
    const safeFigures = recorder.figures('safe');
    const replication = standby?.figures();
    const result: LessonResult = {
      lesson,
      serverVersion: ctx.serverVersion,
      naive: { figures: recorder.figures('naive'), run: naive },
      safe: { figures: safeFigures, status: safe.status, error: safe.status === 'completed' ? undefined : safe.error },
      drill,
      rollback,
      standby: replication,
      passed:
        safeFigures.overBar === 0 &&
        (!replication || replication.safe.maxBytes <= replication.barBytes) &&
        (safe.status === 'completed' || (!!drill && safe.status === 'aborted')) &&
        (!bad || (rollback?.status === 'completed' && rollback.errorsAfter === 0 && rollback.requestsAfter > 0)),
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
