// Throttle decisions, from signals the engine feeds in (no SQL here, so it is tested with a fake
// clock). Each active reason has a detail for the operator; the engine emits a `step.throttle`
// event when a reason starts and `reason: null` when none is left.
//
//   replication_lag   a standby replays too far behind (bytes or time): hold batches until it catches
//                     up (clears below 80% of the limits, so it does not flap around the threshold).
//                     A physical standby seen during this backfill that then disconnects also holds
//                     them until it is back: it still needs every byte of WAL we would write.
//   blocked_sessions  sessions wait on row locks our batch holds: halve the batch (shorter lock hold)
//                     and leave a gap as long as the last batch so they get through. Expires when no
//                     probe has seen a waiter for two probe intervals.
//   batch_time        a batch took far longer than the target: leave an equal gap (at most 50% duty)
//                     while the tuner shrinks the size.
//   low_throughput    keys per second of per-key batch time (after the tuner's fixed cost per batch,
//                     so batches of any size compare like for like) fell below `min_throughput` x what
//                     the warmed-up engine achieved: back off with a growing gap (1s, 2s, 4s .. 10s).
//                     Batches are compared within a band of the share of their keys they wrote: a
//                     key a `where:` skips costs a fraction of one written.
//   app_latency       the application's mean latency on the touched tables (pg_stat_statements) rose
//                     past `app_latency` x its baseline, or its calls stalled while sessions waited on
//                     rows our batches held (fewer than APP_LATENCY_MIN_CALLS in a window, or calls/s
//                     under 1/`app_latency` of its usual rate): halve the batch at each such window and
//                     leave a gap as long as the last batch. Clears at half the rise, or when a window
//                     has too few calls to judge and nobody waited on our rows (nobody left to slow
//                     down for). Also fires when the application falls behind: a window's calls
//                     under the rate measured before our first batch by more than 4 standard
//                     deviations of the counts (see judgeBehind for how it lets go).
import type { Clock } from '../util/clock.js';
import type { LatencyFigure } from '../pg/statement-stats.js';
import type { ThrottleConfig } from './params.js';

export type ThrottleReason = 'replication_lag' | 'blocked_sessions' | 'batch_time' | 'low_throughput' | 'app_latency' | OwnFileRule;

/** Rules that decide in their own file (wal-checkpoint-rules.ts, host-rules.ts) and hand the governor a verdict. */
type OwnFileRule = 'wal_rate' | 'checkpoint_pressure' | 'host_cpu' | 'io_wait';

export interface StandbyLag {
  name: string;
  lagBytes: number | null;
  lagMs: number | null;
  /** Once seen reporting, hold while it is missing (a physical standby with a stable name). */
  trackAbsence?: boolean;
}

export interface ThrottleDecision {
  /** Do not start a batch; look again after this long (replication lag). */
  holdMs: number;
  /** Gap before the next batch, on top of the runbook's `pause`. */
  pauseMs: number;
  /** Multiply the batch size by this (1 = unchanged). */
  shrink: number;
}

export interface ThrottleChange {
  reason: ThrottleReason | null;
  detail?: string;
}

const WARMUP_BATCHES = 5;
const WARMUP_MS = 2000;
const LOW_THROUGHPUT_MAX_PAUSE_MS = 10_000;
/** low_throughput looks only at batches whose per-key part is at least this share of their time. */
const KEY_PART_MIN_SHARE = 0.25;
/**
 * Bands of the share of a batch's keys it wrote (lower bounds). A key the `where:` skips (or one
 * already set) costs a fraction of one written, so a backfill whose first ranges match nothing runs
 * many times the keys per second it can in dense ranges; each band learns its own expected rate.
 * Within a band the cost per key varies well under min_throughput's 10x.
 */
const WRITE_SHARE_BANDS = [
  { from: 0, words: 'under 10%' },
  { from: 0.1, words: '10-50%' },
  { from: 0.5, words: 'at least 50%' },
] as const;

/** Keys per ms of batch time in one band: fast-moving and slow-moving averages, and the best slow value seen once warm. */
interface BandRate {
  batches: number;
  firstBatchAt: number;
  fastRate: number;
  slowRate: number;
  expectedRate: number;
}
/** Fewer calls than this in a window say too little about latency to act on. */
export const APP_LATENCY_MIN_CALLS = 20;
/** A rise smaller than this is noise at sub-millisecond baselines, whatever the factor. */
export const APP_LATENCY_MIN_RISE_MS = 0.5;
/** A window's calls must fall this many standard deviations of the counts under the reference to count as behind. */
export const APP_BEHIND_SIGMAS = 4;
/** ... and by at least this share of the reference, so a huge rate does not act on a sliver. */
export const APP_BEHIND_MIN_SHARE = 0.03;
/** Windows shorter than this share of the reference window are not judged behind (their counts are too bursty). */
const APP_BEHIND_MIN_WINDOW_SHARE = 0.8;
const ms2 = (v: number) => `${v < 10 ? v.toFixed(2) : Math.round(v)} ms`;

const mb = (b: number) => `${(b / 1024 ** 2).toFixed(b < 10 * 1024 ** 2 ? 1 : 0)} MB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** A judged window: its calls and mean, how long it lasted, and whether sessions waited on our rows in it. */
export interface AppLatencyWindow extends LatencyFigure {
  windowMs: number;
  waited: boolean;
  /** The highest calls/s of an earlier window with enough calls; null before one. */
  usualCallsPerSec: number | null;
  /** The application's calls in a window before our first batch; null when too few to judge a rate. */
  reference?: AppRate | null;
}

/** Calls counted over a stretch of time: a rate whose counting noise is known. */
export interface AppRate {
  calls: number;
  ms: number;
}

export class ThrottleGovernor {
  private active = new Map<ThrottleReason, { detail: string; key: string }>();
  /** Reason -> key it was last announced with; a new key (another standby went away) re-announces. */
  private announced = new Map<ThrottleReason, string>();
  /** Standbys that reported a replay position during this backfill and must not silently vanish. */
  private trackedStandbys = new Set<string>();
  private anyAnnounced = false;
  private pendingShrink = 1;
  private lastBatchMs = 0;
  private blockedSeenAt = -Infinity;
  /** When the probe last saw any session waiting on our batch's rows (whatever blocked_sessions says). */
  private waitersSeenAt = -Infinity;
  private bands = new Map<number, BandRate>();
  private lowThroughputPauseMs = 0;
  /** Gap as a multiple of the last batch, per own-file rule while it holds. */
  private ruleGaps = new Map<OwnFileRule, number>();
  /** The application's rate without our batches (before the first, or re-measured); see judgeBehind. */
  private appReference: AppRate | null | undefined;
  /** Calls/s of the last window judged behind, while that holds. */
  private behindCallsPerSec: number | null = null;
  private notes: string[] = [];

  constructor(
    private readonly cfg: ThrottleConfig,
    private readonly targetMs: number,
    /** Fraction of the expected throughput below which to throttle; 0 = off. */
    private readonly minThroughput: number,
    private readonly clock: Clock,
  ) {}

  /**
   * After every batch transaction. `fixedMs` is the tuner's estimate of the part of a batch that
   * does not depend on its size (round trips, commit): throughput is judged on the rest, so a
   * smaller batch, whose fixed part weighs more, does not by itself read as "throughput fell".
   */
  observeBatch(keys: number, ms: number, fixedMs = 0, written = keys): void {
    const now = this.clock.now();
    this.lastBatchMs = ms;
    if (this.cfg.enabled && ms > this.targetMs * this.cfg.batchTimeFactor) {
      this.set('batch_time', `last batch took ${Math.round(ms)} ms, over ${this.cfg.batchTimeFactor}x the ${this.targetMs} ms target`);
    } else this.active.delete('batch_time');
    this.judgeThroughput(keys, written, ms - Math.max(0, fixedMs), ms, now);
  }

  /** low_throughput on keys per ms of the per-key part of the batch (`keyMs` of `ms`), against batches that wrote a like share of their keys. */
  private judgeThroughput(keys: number, written: number, keyMs: number, ms: number, now: number): void {
    // A batch that is mostly fixed cost says nothing about the per-key rate: neither learn nor judge.
    if (keys <= 0 || ms <= 0 || keyMs < ms * KEY_PART_MIN_SHARE) {
      this.lowThroughputPauseMs = 0;
      this.active.delete('low_throughput');
      return;
    }
    const rate = keys / keyMs;
    const share = Math.min(1, Math.max(0, written / keys));
    const band = WRITE_SHARE_BANDS.findLastIndex((b) => share >= b.from);
    const b = this.bands.get(band);
    const r: BandRate = b
      ? { ...b, batches: b.batches + 1, fastRate: 0.5 * rate + 0.5 * b.fastRate, slowRate: 0.2 * rate + 0.8 * b.slowRate }
      : { batches: 1, firstBatchAt: now, fastRate: rate, slowRate: rate, expectedRate: 0 };
    if (r.batches >= WARMUP_BATCHES && now - r.firstBatchAt >= WARMUP_MS) r.expectedRate = Math.max(r.expectedRate, r.slowRate);
    this.bands.set(band, r);
    if (!this.cfg.enabled || this.minThroughput <= 0 || r.expectedRate <= 0) return;
    if (r.fastRate < this.minThroughput * r.expectedRate) {
      this.lowThroughputPauseMs = Math.min(LOW_THROUGHPUT_MAX_PAUSE_MS, Math.max(1000, this.lowThroughputPauseMs * 2));
      const basis =
        ms - keyMs >= 1 ? `rows/s of per-row batch time (after ${Math.round(ms - keyMs)} ms fixed cost per batch)` : 'rows/s of batch time';
      // Named only once batches of another band were seen: otherwise every batch is in it.
      const like = this.bands.size > 1 ? ` in batches that wrote ${WRITE_SHARE_BANDS[band]!.words} of the rows they walked` : '';
      this.set(
        'low_throughput',
        `${Math.round(r.fastRate * 1000)} ${basis}, under ${Math.round(this.minThroughput * 100)}% of the ${Math.round(r.expectedRate * 1000)} rows/s seen earlier${like}`,
      );
    } else {
      this.lowThroughputPauseMs = 0;
      this.active.delete('low_throughput');
    }
  }

  /** From the replication probe (pg_stat_replication), between batches. */
  observeReplication(standbys: StandbyLag[]): void {
    if (!this.cfg.enabled) return;
    const wasActive = this.active.has('replication_lag');
    // Hysteresis: once holding, wait until lag is under 80% of the limits.
    const f = wasActive ? 0.8 : 1;
    const over = standbys.filter(
      (s) =>
        (s.lagBytes !== null && s.lagBytes > this.cfg.replicationLagBytes * f) ||
        (s.lagMs !== null && s.lagMs > this.cfg.replicationLagMs * f),
    );
    const reporting = new Set(standbys.filter((s) => s.lagBytes !== null).map((s) => s.name));
    for (const s of standbys) if (s.trackAbsence && s.lagBytes !== null) this.trackedStandbys.add(s.name);
    // Gone from pg_stat_replication, or back but not yet reporting where it is.
    const gone = [...this.trackedStandbys].filter((name) => !reporting.has(name)).sort();
    if (over.length === 0 && gone.length === 0) {
      this.active.delete('replication_lag');
      return;
    }
    const parts: string[] = [];
    if (over.length) {
      const behind = over.map(
        (s) => `${s.name} ${s.lagBytes !== null ? mb(s.lagBytes) : '? MB'} / ${s.lagMs !== null ? sec(s.lagMs) : '? s'} behind`,
      );
      parts.push(`${behind.join(', ')} (limits ${mb(this.cfg.replicationLagBytes)} / ${sec(this.cfg.replicationLagMs)})`);
    }
    if (gone.length) {
      parts.push(
        `${gone.join(', ')} disconnected: holding until it streams again (if it is gone for good, stop the run and \`pgrunbook resume\` it: a resumed backfill no longer waits for it)`,
      );
    }
    this.set('replication_lag', parts.join('; '), gone.length ? `disconnected: ${gone.join(', ')}` : 'lag');
  }

  /** From the probe that looks for sessions waiting on our batch's locks, during a batch. */
  observeBlocked(count: number, maxWaitMs: number): void {
    if (count > 0) this.waitersSeenAt = this.clock.now();
    if (!this.cfg.enabled || this.cfg.blockedSessions <= 0) return;
    if (count >= this.cfg.blockedSessions) {
      this.blockedSeenAt = this.clock.now();
      this.pendingShrink = 0.5;
      this.set('blocked_sessions', `${count} session(s) waited on rows our batch had locked (longest ${Math.round(maxWaitMs)} ms)`);
    }
  }

  /** Whether a session waited on our batch's rows after clock time `t`. */
  waitersSeenSince(t: number): boolean {
    return this.waitersSeenAt > t;
  }

  /** The application's latency on the touched tables over the last window, against its baseline. */
  observeAppLatency(now: AppLatencyWindow, baseline: LatencyFigure, tables: string): void {
    const factor = this.cfg.appLatencyFactor;
    if (!this.cfg.enabled || factor <= 0) return;
    const wasActive = this.active.has('app_latency');
    const stalled = this.stallOf(now);
    if (stalled) return this.slowDown(`application calls on ${tables} stalled: ${stalled}, baseline mean ${ms2(baseline.meanMs)}`);
    const behind = this.judgeBehind(now, tables);
    if (behind === 'behind' || behind === 'too short') return;
    if (behind === 'caught up') {
      this.active.delete('app_latency');
      return;
    }
    if (now.calls < APP_LATENCY_MIN_CALLS) {
      // Too few calls to judge, and nobody waited on our rows: nobody is left to slow down for.
      this.active.delete('app_latency');
      return;
    }
    // Hysteresis: once slowed down, wait until latency is back under half the allowed rise.
    const allowedRise = Math.max(baseline.meanMs * (factor - 1), APP_LATENCY_MIN_RISE_MS);
    const limit = baseline.meanMs + (wasActive ? allowedRise / 2 : allowedRise);
    if (now.meanMs <= limit) {
      this.active.delete('app_latency');
      return;
    }
    const rate = now.callsPerSec === null ? '' : `, ${Math.round(now.callsPerSec)} calls/s`;
    this.slowDown(
      `application mean latency on ${tables} is ${ms2(now.meanMs)} (${now.calls} calls${rate}), ${(now.meanMs / baseline.meanMs).toFixed(1)}x its ${ms2(baseline.meanMs)} baseline (limit ${factor}x)`,
    );
  }

  /** Why a window counts as the application stalled behind our batches, or null. */
  private stallOf(w: AppLatencyWindow): string | null {
    if (!w.waited) return null;
    const secs = `${(w.windowMs / 1000).toFixed(1)} s`;
    if (w.calls < APP_LATENCY_MIN_CALLS) return `${w.calls} call(s) completed in ${secs} while sessions waited on rows our batches held`;
    const usual = w.usualCallsPerSec;
    if (usual && w.callsPerSec !== null && w.callsPerSec < usual / this.cfg.appLatencyFactor)
      return `${Math.round(w.callsPerSec)} calls/s in ${secs} while sessions waited on rows our batches held, down from ${Math.round(usual)} calls/s (limit ${this.cfg.appLatencyFactor}x)`;
    return null;
  }

  /**
   * An application that cannot keep up completes fewer calls than it is sent, while each call's
   * mean hardly moves (it waits to run, not in the statement). Behind: the window's calls fell under
   * the rate measured without our batches by more than APP_BEHIND_SIGMAS standard deviations of the
   * two counts (and APP_BEHIND_MIN_SHARE). Each window while behind is paired with the one before it,
   * after slowing down once more: back at the reference, it caught up (let go); no better than the
   * window before, our batches were not the cause (the reference moves to this rate, and it lets go);
   * in between, slowing down helps, so slow down again.
   */
  private judgeBehind(w: AppLatencyWindow, tables: string): 'behind' | 'caught up' | 'too short' | null {
    if (this.appReference === undefined) this.appReference = w.reference ?? null;
    if (!this.active.has('app_latency')) this.behindCallsPerSec = null;
    const ref = this.appReference;
    // Too few calls is an application that stopped sending, not one that fell behind (see observeAppLatency).
    if (!ref || w.windowMs <= 0 || w.callsPerSec === null || w.calls < APP_LATENCY_MIN_CALLS) return null;
    // A window much shorter than the reference's: one lock wait or scheduling hiccup moves its count
    // far more than the Poisson bound allows. No news: a holding rule holds, a quiet one stays quiet.
    if (w.windowMs < APP_BEHIND_MIN_WINDOW_SHARE * ref.ms) return this.behindCallsPerSec !== null ? 'too short' : null;
    const scale = w.windowMs / ref.ms;
    const expected = ref.calls * scale;
    const sd = Math.sqrt(expected + scale * scale * ref.calls);
    const refRate = (1000 * ref.calls) / ref.ms;
    const firedAt = this.behindCallsPerSec;
    if (firedAt !== null && this.active.has('app_latency')) {
      if (w.calls >= expected - 2 * sd) {
        this.behindCallsPerSec = null;
        return 'caught up';
      }
      if (w.callsPerSec <= firedAt + (2 * sd * 1000) / w.windowMs) {
        this.behindCallsPerSec = null;
        this.appReference = { calls: w.calls, ms: w.windowMs };
        this.notes.push(
          `application calls on ${tables} stayed at ${Math.round(w.callsPerSec)} calls/s after our batches slowed down further (${Math.round(firedAt)} calls/s the window before): not our batches' doing, so ${Math.round(w.callsPerSec)} calls/s is the rate judged against from now on`,
        );
        return 'caught up';
      }
    }
    const deficit = expected - w.calls;
    // Once behind, anything short of caught up holds (hysteresis); to start, the deficit must be clear.
    const holding = firedAt !== null && this.active.has('app_latency');
    if (!holding && (deficit <= APP_BEHIND_SIGMAS * sd || deficit <= APP_BEHIND_MIN_SHARE * expected)) return null;
    this.behindCallsPerSec = w.callsPerSec;
    this.slowDown(
      `application calls on ${tables} fell behind: ${Math.round(w.callsPerSec)} calls/s over ${(w.windowMs / 1000).toFixed(1)} s while batches ran, against ${Math.round(refRate)} calls/s without them (${Math.round((100 * deficit) / expected)}% fewer, ${(deficit / sd).toFixed(1)} standard deviations of the counts)`,
    );
    return 'behind';
  }

  /** Lines for the step's log from the rules (e.g. a new reference rate), taken once. */
  takeNotes(): string[] {
    const out = this.notes;
    this.notes = [];
    return out;
  }

  private slowDown(detail: string): void {
    this.pendingShrink = Math.min(this.pendingShrink, 0.5);
    this.set('app_latency', detail);
  }

  /** What to do before the next batch. Call once per batch. */
  decide(): ThrottleDecision {
    const now = this.clock.now();
    // Expires only once announced: under load the probes between batches can outlast the expiry.
    const told = this.announced.get('blocked_sessions') !== undefined;
    if (this.active.has('blocked_sessions') && told && now - this.blockedSeenAt > 2 * this.cfg.probeIntervalMs)
      this.active.delete('blocked_sessions');
    let pauseMs = 0;
    if (this.active.has('blocked_sessions')) pauseMs = Math.max(pauseMs, this.lastBatchMs);
    if (this.active.has('batch_time')) pauseMs = Math.max(pauseMs, this.lastBatchMs);
    if (this.active.has('app_latency')) pauseMs = Math.max(pauseMs, this.lastBatchMs);
    if (this.active.has('low_throughput')) pauseMs = Math.max(pauseMs, this.lowThroughputPauseMs);
    for (const f of this.ruleGaps.values()) pauseMs = Math.max(pauseMs, this.lastBatchMs * f);
    const shrink = this.pendingShrink;
    this.pendingShrink = 1;
    return { holdMs: this.active.has('replication_lag') ? this.cfg.probeIntervalMs : 0, pauseMs: Math.round(pauseMs), shrink };
  }

  /** Newly started reasons, or a single `null` when the last one cleared. Call after `decide`. */
  changes(): ThrottleChange[] {
    const out: ThrottleChange[] = [];
    for (const [reason, { detail, key }] of this.active) {
      if (this.announced.get(reason) !== key) out.push({ reason, detail });
    }
    this.announced = new Map([...this.active].map(([reason, { key }]) => [reason, key]));
    if (this.active.size === 0 && this.anyAnnounced) out.push({ reason: null });
    this.anyAnnounced = this.active.size > 0;
    return out;
  }

  /** Active reasons for progress events, or null. */
  get summary(): string | null {
    return this.summaryWithout();
  }

  /** The active rules but `except`, comma-separated; null when none is left. */
  summaryWithout(...except: ThrottleReason[]): string | null {
    const rules = [...this.active.keys()].filter((r) => !except.includes(r));
    return rules.length ? rules.join(', ') : null;
  }

  isActive(reason: ThrottleReason): boolean {
    return this.active.has(reason);
  }

  /** A verdict of a rule kept in its own file: a gap of `gapFactor` x the last batch, or null to let go. */
  observeRule(reason: OwnFileRule, verdict: { detail: string; gapFactor: number; key?: string } | null): void {
    if (!this.cfg.enabled || !verdict) {
      this.ruleGaps.delete(reason);
      this.active.delete(reason);
      return;
    }
    this.ruleGaps.set(reason, verdict.gapFactor);
    this.set(reason, verdict.detail, verdict.key);
  }

  /** `key` names what is announced: the same reason with a new key is announced again. */
  private set(reason: ThrottleReason, detail: string, key = reason as string): void {
    this.active.set(reason, { detail, key });
  }
}
