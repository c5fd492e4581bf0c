// The write_burst drill: once the runbook's backfill has run its first batch (the step itself may
// first measure the application's rate for a probe interval), the application's writes on the table
// jump (real extra traffic: `burst_rate` UPDATEs a second on random rows for `burst_for`), and
// its batches compete with them for rows and the machine. The question comes `ask_after` into the
// burst. pause: the runner pauses between batches and pgrunbook resumes it when the burst is over;
// keep_going: the backfill's throttle alone reacts (its step.throttle reasons are counted); abort.
import { SyntheticTraffic } from '../demo/traffic.js';
import type { RunEvent } from '../engine/events.js';
import type { Runner } from '../engine/runner.js';
import { formatMs } from '../util/units.js';
import { abortChange, askDrill, drillResult, formatSecs, runEffect, type ArmedDrill, type DrillAnswer } from './drill-answer.js';
import type { LatencyRecorder } from './latency-recorder.js';
import type { LearnContext } from './learn-context.js';
import type { Drill, Lesson } from './lesson.js';
import { setTimeout as sleep } from 'node:timers/promises';

function latencyIn(recorder: LatencyRecorder, from: number, to: number, what: string): string {
  const f = recorder.figuresBetween(from, to);
  return `${what}: p99 ${formatMs(f.p99Ms)}, worst ${formatMs(f.worstMs)} over ${f.requests} requests`;
}

/** What the drill saw: when the burst ran, the answer, the throttle's reasons, the time paused. */
interface BurstSeen {
  from?: number;
  to?: number;
  answer?: DrillAnswer;
  throttled: Map<string, number>;
  pausedAt?: number;
  pausedMs: number;
}

export async function armWriteBurst(
  ctx: LearnContext,
  lesson: Lesson,
  drill: Drill,
  runner: Runner,
  recorder: LatencyRecorder,
): Promise<ArmedDrill> {
  const burst = new SyntheticTraffic({
    connectionString: ctx.url,
    rows: lesson.rows,
    rate: drill.burst_rate,
    clients: 4,
    writeShare: 1,
    hotShare: 0,
    longTxFirstMs: 0,
    longTxEveryMs: 0,
    blockerFirstMs: 0,
    blockerEveryMs: 0,
  });
  const seen: BurstSeen = { throttled: new Map(), pausedMs: 0 };
  let running: Promise<void> = Promise.resolve();

  const run = async () => {
    seen.from = performance.now();
    burst.start();
    ctx.say(`drill: a write burst on orders: ${drill.burst_rate} extra UPDATEs a second for ${formatMs(drill.burst_for)}`);
    await sleep(drill.ask_after);
    const asked = askDrill(ctx, lesson, drill).then((a) => {
      seen.answer = a;
      act(ctx, runner, a);
    });
    await sleep(Math.max(0, seen.from + drill.burst_for - performance.now()));
    await burst.stop();
    seen.to = performance.now();
    ctx.say(`drill: the write burst is over (${burst.stats.writes} writes, ${burst.stats.errors} failed)`);
    await asked;
    if (runner.paused) {
      ctx.say('drill: resuming the backfill');
      runner.unpause();
    }
  };

  const off = runner.bus.on((e: RunEvent) => {
    if (e.type === 'step.progress' && e.progress.kind === 'backfill' && e.progress.batches > 0 && seen.from === undefined)
      running = run().catch((err: Error) => runner.abort(err.message));
    note(seen, e);
  });

  return {
    end: async () => {
      off();
      await running;
      await burst.stop();
      if (runner.paused) runner.unpause();
    },
    result: (status, endedAt) => {
      const { answer, from } = seen;
      if (!answer || from === undefined) return undefined;
      return drillResult(drill, answer, runEffect(answer, status, endedAt), measured(seen, answer, from, seen.to ?? endedAt, recorder));
    },
  };
}

function act(ctx: LearnContext, runner: Runner, a: DrillAnswer): void {
  if (a.choice.action === 'pause') {
    ctx.say('drill: pausing the backfill between batches; pgrunbook resumes it when the burst is over');
    runner.pause();
  } else if (a.choice.action === 'abort') {
    abortChange(ctx, runner, 'the backfill; the rows it filled stay filled, the rest stay NULL');
  } else ctx.say('drill: the backfill goes on; its throttle watches the sessions waiting on its rows and its batch time');
}

/** During the burst: the throttle's reasons, and when the runner paused and unpaused (its own events). */
function note(seen: BurstSeen, e: RunEvent): void {
  const during = seen.from !== undefined && seen.to === undefined;
  if (during && e.type === 'step.throttle' && e.reason)
    for (const r of e.reason.split(/,\s*/)) seen.throttled.set(r, (seen.throttled.get(r) ?? 0) + 1);
  if (during && e.type === 'run.paused') seen.pausedAt = performance.now();
  if (e.type === 'run.unpaused' && seen.pausedAt !== undefined) {
    seen.pausedMs += performance.now() - seen.pausedAt;
    seen.pausedAt = undefined;
  }
}

/** The latencies before and after the answer, the time the backfill sat out, what the throttle did. */
function measured(seen: BurstSeen, answer: DrillAnswer, from: number, to: number, recorder: LatencyRecorder): string {
  const answeredAt = answer.askedAt + answer.decidedMs;
  const after =
    answer.choice.action === 'pause' ? 'backfill paused' : answer.choice.action === 'abort' ? 'backfill aborted' : 'backfill running';
  const throttle = seen.throttled.size
    ? `the throttle acted (${[...seen.throttled].map(([r, n]) => `${r} ${n}x`).join(', ')})`
    : 'the throttle did not act';
  return (
    `measured during the ${formatSecs(to - from)} burst: ${latencyIn(recorder, from, answeredAt, 'before your answer (backfill running)')}; ` +
    `${latencyIn(recorder, answeredAt, to, `after it (${after})`)}; ${seen.pausedMs ? `the backfill sat out ${formatSecs(seen.pausedMs)} of it; ` : ''}${throttle}.`
  );
}
