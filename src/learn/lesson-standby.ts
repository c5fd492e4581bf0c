// The streaming standby of a replication-lag lesson: a real physical standby of the lesson's server
// (pg/embedded-standby.ts), its replay held to the lesson's rate (replay-budget), and its lag
// recorded from the primary's pg_stat_replication per phase. Between the two ways it catches up at
// full speed, so the safe way starts from a standby that is not behind.
import { EmbeddedStandby } from '../pg/embedded-standby.js';
import { formatBytes, formatMs } from '../util/units.js';
import type { LearnContext } from './learn-context.js';
import type { Lesson } from './lesson.js';
import { type LagFigures, type LagSample, ReplicationLagRecorder } from './replication-lag-recorder.js';
import { ReplayBudget, type ReplayPosition } from './standby-replay-budget.js';

type StandbySpec = NonNullable<Lesson['standby']>;

/** What the summary says about the standby: the lesson's bar and each way's measured lag. */
export interface StandbyFigures {
  barBytes: number;
  replayBytesPerSec: number;
  naive: LagFigures;
  safe: LagFigures;
}

/** How long the standby gets to catch up between the two ways (at full speed it takes a moment). */
const CATCH_UP_MS = 60_000;
/** Caught up: the primary may write a little meanwhile (autovacuum, a checkpoint). */
const CAUGHT_UP_BYTES = 128 * 1024;

export class LessonStandby {
  private constructor(
    private readonly standby: EmbeddedStandby,
    private readonly budget: ReplayBudget,
    private readonly lag: ReplicationLagRecorder,
    private readonly spec: StandbySpec,
  ) {}

  static async start(ctx: LearnContext, spec: StandbySpec): Promise<LessonStandby> {
    ctx.say('making a streaming standby of this server (a copy of its files between pg_backup_start and pg_backup_stop, then streaming)…');
    const standby = await EmbeddedStandby.start(ctx.url);
    const budget = new ReplayBudget(standby.url, spec.replay_rate);
    const lag = new ReplicationLagRecorder(ctx.url, standby.name, spec.max_lag);
    try {
      await budget.start();
      await lag.start();
    } catch (err) {
      await Promise.all([budget.stop(), lag.stop()]);
      await standby.stop();
      throw err;
    }
    ctx.say(
      `standby ${standby.name} streams on port ${standby.server.port}; pgrunbook lets it replay at most ${formatBytes(spec.replay_rate)}/s (it pauses and resumes its replay): a standby on this machine would otherwise keep up with anything, a real one on slower disks or far away does not`,
    );
    return new LessonStandby(standby, budget, lag, spec);
  }

  setPhase(phase: string): void {
    this.lag.setPhase(phase);
  }

  /** The last lag sample read on the primary (pg_stat_replication). */
  get lastLag(): LagSample | undefined {
    return this.lag.last;
  }

  /** The standby's received and replayed positions (bytes from 0/0), as its replay budget last read them. */
  get position(): ReplayPosition | undefined {
    return this.budget.position;
  }

  /** A drill's fault: the standby stops replaying (it keeps receiving) until `resumeReplay()`. */
  stallReplay(): Promise<ReplayPosition> {
    return this.budget.stall();
  }

  resumeReplay(): void {
    this.budget.release();
  }

  /** The standby right now, in one line. */
  line(): string {
    const s = this.lag.last;
    if (!s) return 'standby: not reporting yet';
    return `standby ${formatBytes(s.lagBytes)} behind (replay_lag ${formatMs(s.replayLagMs)}, bar ${formatBytes(this.spec.max_lag)})`;
  }

  /** After the naive change: the standby replays at its rate until it is back under the bar (or `capMs` passes). */
  async watchBackUnderBar(ctx: LearnContext, capMs: number): Promise<void> {
    ctx.say(`naive: ${this.line()}; watching it catch up at ${formatBytes(this.spec.replay_rate)}/s`);
    const back = await this.lag.until(this.spec.max_lag, capMs);
    ctx.say(
      back
        ? `naive: the standby is back under ${formatBytes(this.spec.max_lag)}`
        : `naive: after ${formatMs(capMs)} (the cap) ${this.line()}`,
    );
  }

  /** Lets the standby replay at full speed until it has caught up, then holds it to its rate again. */
  async catchUp(ctx: LearnContext): Promise<void> {
    this.budget.unlimit();
    const caughtUp = await this.lag.until(CAUGHT_UP_BYTES, CATCH_UP_MS);
    this.budget.limit();
    if (!caughtUp)
      throw new Error(
        `the standby did not catch up within ${formatMs(CATCH_UP_MS)} (${this.line()}): the machine may be too busy, run the lesson again`,
      );
    ctx.say('reset: the standby has caught up (replaying at full speed)');
  }

  figures(): StandbyFigures {
    return {
      barBytes: this.spec.max_lag,
      replayBytesPerSec: this.spec.replay_rate,
      naive: this.lag.phaseFigures('naive'),
      safe: this.lag.phaseFigures('safe'),
    };
  }

  async stop(): Promise<void> {
    await Promise.all([this.budget.stop(), this.lag.stop()]);
    await this.standby.stop();
  }
}
