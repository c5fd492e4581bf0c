// The lagging_standby drill: as the runbook's backfill starts, the lesson's standby stops replaying
// for `stall_for` (a real fault on a real standby: its replay is paused, it keeps receiving WAL),
// so the lag grows until the backfill's throttle holds on replication_lag. Then the trainee is
// asked: wait (the throttle holds by itself), pause the backfill (pgrunbook resumes it once the
// standby replays again), or abort. The explanation is built from what was measured: the standby's
// positions, the lag read on the primary (bytes behind, replay_lag) and the throttle's holds.
import type { RunEvent } from '../engine/events.js';
import type { Runner } from '../engine/runner.js';
import { InputError } from '../util/runbook-error.js';
import { formatBytes, formatMs } from '../util/units.js';
import { abortChange, type ArmedDrill, askDrill, type DrillAnswer, type DrillResult, drillResult, runEffect } from './drill-answer.js';
import type { LearnContext } from './learn-context.js';
import type { Drill, DrillChoice, Lesson } from './lesson.js';
import type { LessonStandby } from './lesson-standby.js';
import type { LagSample } from './replication-lag-recorder.js';
import type { ReplayPosition } from './standby-replay-budget.js';

const SAMPLE_MS = 200;

/** What the drill measured of its fault. */
interface StallFigures {
  from: number;
  to?: number;
  start?: ReplayPosition;
  end?: ReplayPosition;
  maxLagBytes: number;
  maxReplayLagMs: number | null;
  throttleHolds: number;
  atQuestion?: LagSample;
  pausedMs: number;
}

function lagText(s: LagSample | undefined): string {
  return s ? `${formatBytes(s.lagBytes)} behind (replay_lag ${formatMs(s.replayLagMs)})` : 'not reporting';
}

function measuredText(f: StallFigures, barBytes: number, endedAt: number, choice: DrillChoice): string {
  const to = f.to ?? endedAt;
  const received = f.start && f.end ? f.end.received - f.start.received : undefined;
  const replayed = f.start && f.end ? f.end.replayed - f.start.replayed : undefined;
  const replay =
    received !== undefined && replayed !== undefined
      ? `the standby replayed ${formatBytes(replayed)} of the ${formatBytes(received)} it received`
      : "the standby's own positions were not read";
  // Only a `wait` answer left the backfill to its throttle alone: only then can the lag be credited to the throttle.
  const bar = `the lesson's ${formatBytes(barBytes)} bar`;
  const verdict =
    choice.action !== 'wait'
      ? `it ${f.maxLagBytes <= barBytes ? 'stayed within' : 'went past'} ${bar}`
      : f.maxLagBytes <= barBytes
        ? `the throttle kept it within ${bar} by itself`
        : `it went past ${bar}: the throttle alone was not enough, pausing was the call`;
  return (
    `measured during the ${formatMs(to - f.from)} stall: ${replay}; it fell ${formatBytes(f.maxLagBytes)} behind at most ` +
    `(replay_lag up to ${formatMs(f.maxReplayLagMs)}), ${lagText(f.atQuestion)} when asked; ` +
    `the throttle held the backfill ${f.throttleHolds} time${f.throttleHolds === 1 ? '' : 's'} on replication_lag` +
    `${f.pausedMs ? `, the backfill sat paused ${formatMs(f.pausedMs)}` : ''}; ${verdict}.`
  );
}

class LaggingStandbyDrill implements ArmedDrill {
  private stall?: StallFigures;
  private answer?: DrillAnswer;
  private asked = false;
  private sampler?: NodeJS.Timeout;
  private stallTimer?: NodeJS.Timeout;
  private pausedAt?: number;
  private readonly off: () => void;

  constructor(
    private readonly ctx: LearnContext,
    private readonly lesson: Lesson,
    private readonly drill: Drill,
    private readonly runner: Runner,
    private readonly standby: LessonStandby,
  ) {
    this.off = runner.bus.on((e) => this.onEvent(e));
  }

  private onEvent(e: RunEvent): void {
    if (e.type === 'step.started' && e.kind === 'backfill' && !this.stall) this.startStall();
    const stall = this.stall?.to === undefined ? this.stall : undefined;
    if (stall && e.type === 'step.throttle' && e.reason === 'replication_lag') {
      stall.throttleHolds++;
      this.ask();
    }
    if (e.type === 'run.paused') this.pausedAt = performance.now();
    if (e.type === 'run.unpaused' && this.pausedAt !== undefined && this.stall) {
      this.stall.pausedMs += performance.now() - this.pausedAt;
      this.pausedAt = undefined;
    }
  }

  private startStall(): void {
    const { standby, drill } = this;
    const f: StallFigures = {
      from: performance.now(),
      start: standby.position,
      maxLagBytes: 0,
      maxReplayLagMs: null,
      throttleHolds: 0,
      pausedMs: 0,
    };
    this.stall = f;
    // The stall's replay counts from the moment its pause was requested.
    void standby
      .stallReplay()
      .then((at) => {
        if (f.to === undefined) f.start = at;
      })
      .catch(() => {});
    this.ctx.say(
      `drill: the standby, ${lagText(standby.lastLag)}, stops replaying for ${formatMs(drill.stall_for)} (pgrunbook paused its replay; it still receives WAL): a stand-in for a stalled disk or a long query conflict on the standby`,
    );
    this.sampler = setInterval(() => {
      const s = standby.lastLag;
      if (!s) return;
      f.maxLagBytes = Math.max(f.maxLagBytes, s.lagBytes);
      if (s.replayLagMs !== null) f.maxReplayLagMs = Math.max(f.maxReplayLagMs ?? 0, s.replayLagMs);
    }, SAMPLE_MS);
    this.stallTimer = setTimeout(() => {
      this.ask();
      this.endStall();
    }, drill.stall_for);
  }

  private endStall(): void {
    const stall = this.stall;
    if (!stall || stall.to !== undefined) return;
    clearTimeout(this.stallTimer);
    clearInterval(this.sampler);
    this.standby.resumeReplay();
    stall.to = performance.now();
    stall.end = this.standby.position;
    this.ctx.say(`drill: the standby replays again (${this.standby.line()})`);
    if (this.runner.paused) {
      this.ctx.say('drill: resuming the backfill');
      this.runner.unpause();
    }
  }

  private ask(): void {
    const { ctx, lesson, drill, stall } = this;
    if (this.asked || !stall) return;
    this.asked = true;
    stall.atQuestion = this.standby.lastLag;
    ctx.say(
      `drill: the standby is ${lagText(stall.atQuestion)}; ${stall.throttleHolds ? "the backfill's throttle is holding its batches on replication_lag" : 'the throttle has not held yet'}`,
    );
    askDrill(ctx, lesson, drill)
      .then((a) => {
        this.answer = a;
        this.act(a.choice);
      })
      .catch((err: Error) => this.runner.abort(err.message));
  }

  private act(choice: DrillChoice): void {
    const { ctx, runner } = this;
    if (choice.action === 'pause') {
      // The stall may have ended while the trainee thought: then there is nothing to wait for.
      if (this.stall?.to !== undefined) return ctx.say('drill: the standby already replays again; nothing to pause');
      ctx.say('drill: pausing the backfill between batches; pgrunbook resumes it once the standby replays again');
      runner.pause();
    } else if (choice.action === 'abort') {
      abortChange(ctx, runner, 'the backfill; the rows it filled stay filled, the rest stay NULL');
    } else ctx.say('drill: waiting; the throttle holds the batches while the standby is behind');
  }

  async end(): Promise<void> {
    this.off();
    this.endStall();
    if (this.runner.paused) this.runner.unpause();
  }

  result(status: string, endedAt: number): DrillResult | undefined {
    const { answer, stall } = this;
    if (!answer || !stall) return undefined;
    return drillResult(
      this.drill,
      answer,
      runEffect(answer, status, endedAt),
      measuredText(stall, this.standby.figures().barBytes, endedAt, answer.choice),
    );
  }
}

export async function armLaggingStandby(
  ctx: LearnContext,
  lesson: Lesson,
  drill: Drill,
  runner: Runner,
  standby: LessonStandby | undefined,
): Promise<ArmedDrill> {
  if (!standby)
    throw new InputError(`the drill of ${lesson.id} stalls a standby and the lesson has none`, 'add `standby:` to its lesson.yaml');
  return new LaggingStandbyDrill(ctx, lesson, drill, runner, standby);
}
