// The batch loop. Each iteration is one short transaction on a dedicated connection, sent in two
// round trips (see `transaction`):
//
//   BEGIN (short lock_timeout, statement_timeout, no JIT, asynchronous commit)
//   lock the cursor row (FOR UPDATE)          -> the database's cursor is the truth, never memory
//   find the end key of the next batch        -> index-only walk of the primary key
//   UPDATE the key range + move the cursor    -> one statement
//   COMMIT
//
// Passes: `main` walks up to the bound taken at start (so it terminates); `catch-up` covers keys
// added above that bound meanwhile (up to MAX_CATCHUP_ROUNDS bounds, each taken when the previous
// pass ends); `retry` finishes rows that were skipped because another session held them.
//
// Row locks held by the application: we never queue behind them. The fast path is a plain UPDATE
// of the range under a short lock_timeout (default 50 ms). Taking row locks first with
// SELECT .. FOR NO KEY UPDATE SKIP LOCKED would cost a second write to every tuple (about 30-40%
// of the throughput in our measurements), so we only pay that when needed: if the UPDATE meets a
// row lock held longer than lock_timeout, the transaction fails with 55P03, rolls back, and the
// same range is redone at once with SKIP LOCKED, recording the keys it had to skip (in the same
// transaction). The retry pass updates those rows once their holders are gone. So a batch waits at
// most lock_timeout behind anyone, and every row is still updated exactly once.
import type pg from 'pg';
import type { Clock } from '../util/clock.js';
import { formatMs } from '../util/units.js';
import type { EventBody } from '../engine/events.js';
import { AbortedError, RunbookError } from '../util/runbook-error.js';
import type { StepControl } from '../engine/step-kind.js';
import {
  createCursor,
  describeCursor,
  keyTuple,
  lockCursorSql,
  readCursor,
  setPass,
  toRow,
  type CursorRow,
  type Pass,
} from './cursor-store.js';
import { classifyFailure } from './batch-failure.js';
import type { BackfillConfig } from './params.js';
import { ThrottleProbes } from './backfill-probes.js';
import { ProgressTracker } from './progress.js';
import { boundarySql, fastBatchSql, literalBinder, maxKeySql, retryBatchSql, skipLockedBatchSql } from './batch-sql.js';
import { fastCopySql, retryCopySql, skipLockedCopySql } from './copy-sql.js';
import { fastDeleteSql, retryDeleteSql, skipLockedDeleteSql } from './delete-sql.js';
import { sameKey, selects, type CursorMove } from './pass-sql.js';
import { estimateMatching, introspectTable, tablePages, type BackfillTarget } from './backfill-target.js';
import { ThrottleGovernor, type StandbyLag } from './throttle.js';
import { AppLatencyWatch } from './app-latency-watch.js';
import { WalCheckpointWatch } from './wal-checkpoint-rules.js';
import { HostRulesWatch } from './host-rules.js';
import type { HostFigures, HostSignals } from '../engine/ports.js';
import type { ServerPressureReading } from '../pg/server-pressure.js';
import type { WalConsumers } from '../pg/wal-consumers.js';
import type { StatementStatsReading } from '../pg/statement-stats.js';
import { BatchTuner } from './tuner.js';
import { RangeLane, type LaneOutcome, type Mode } from './range-lane.js';
import { PinnedClient } from './pinned-client.js';
import { describeRange, insertRange, mergeRanges, rangeDone, readRanges, splitKeySql, type RangeRow } from './range-store.js';
import { type HostCpu, SecondWorkerPolicy } from './second-worker-policy.js';

export const MAX_CATCHUP_ROUNDS = 3;
/** Consecutive lock timeouts (after the SKIP LOCKED redo) before giving up with a hint. */
const LOCK_RETRIES = 40;
const RECONNECT_WINDOW_MS = 60_000;
/** A block sample's share of the table's pages, as the split's log lines say it: 100%, 12%, 0.37%. */
const samplePct = (pct: number) => `${pct >= 10 ? Math.round(pct) : Number(pct.toPrecision(2))}%`;

/** Keys a split's block sample aims to find in the range it cuts (its median is the split key). */
const SPLIT_SAMPLE_KEYS = 2000;
/** ... and pages of the range left: the median of a block sample is as precise as its number of pages (about 1/(2 sqrt n) of the range). */
const SPLIT_SAMPLE_PAGES = 100;

export interface ProbeSource {
  replication(): Promise<StandbyLag[] | undefined>;
  /** Sessions waiting on backend `pid`'s locks, other than the backfill's own `ownPids`. */
  blockedBy(pid: number, ownPids?: number[]): Promise<{ count: number; maxWaitMs: number } | undefined>;
  /** pg_stat_statements on the touched tables (the app_latency rule); absent = not watched. */
  statementStats?(tables: string[], now: number): Promise<StatementStatsReading | undefined>;
  /** WAL, checkpoints and vacuum on the table (wal_rate, checkpoint_pressure); absent = not watched. */
  serverPressure?(table: string, now: number): Promise<ServerPressureReading | undefined>;
  /** Standbys, replication slots and the archive: whether a default wal_rate applies. */
  walConsumers?(): Promise<WalConsumers | undefined>;
  /** Other client sessions busy now or within `withinMs` (auto's second worker); absent = not read. */
  busySessions?(ownPids: number[], withinMs: number): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface BackfillDeps {
  pool: pg.Pool;
  runId: string;
  stepId: string;
  cfg: BackfillConfig;
  clock: Clock;
  signal: AbortSignal;
  control: StepControl;
  emit(body: EventBody): void;
  random?: () => number;
  /** Replace the SQL probes (tests); null = no probes. */
  probes?: ProbeSource | null;
  /** The database host's figures (host_cpu, io_wait); absent = not watched. */
  host?: HostSignals;
}

export interface BackfillResult {
  table: string;
  rowsDone: number;
  batches: number;
  /** Rows that first had to be skipped because another session held their lock. */
  skippedRows: number;
  catchupRounds: number;
  resumed: boolean;
  durationMs: number;
}

type TxOutcome =
  | LaneOutcome
  /** The first worker reached its bound while the second worker's range is not finished. */
  | { kind: 'ranges-left'; ranges: RangeRow[] }
  | { kind: 'pass'; from: Pass; to: Pass; detail: string }
  | { kind: 'retry'; considered: number; updated: number; resolved: number; rowsDone: number; lastKey: string[] | null }
  | { kind: 'done' };

const sameOrBothNull = (a: string[] | null, b: string[] | null) => (a === null && b === null) || sameKey(a, b);

/** Where a resumed walk picks up, from the cursor committed with the last batch. */
function restartPoint(c: CursorRow): string {
  if (c.pass === 'done') return 'nothing is left to do';
  if (c.pass === 'retry') return 'continues with the rows skipped for locks';
  return c.cursor ? `restarts after key ${keyTuple(c.cursor)}` : 'restarts at the first key';
}

export async function runBackfill(deps: BackfillDeps): Promise<BackfillResult> {
  return new BackfillRun(deps).run();
}

class BackfillRun {
  private readonly cfg: BackfillConfig;
  private readonly random: () => number;
  private info!: BackfillTarget;
  private readonly client: PinnedClient;
  private probes: ProbeSource | null;
  private tuner!: BatchTuner;
  private governor!: ThrottleGovernor;
  private progress!: ProgressTracker;
  private state!: CursorRow;
  private lastBatchMs = 0;
  private skippedRows = 0;
  private lastReplicationProbe = -Infinity;
  private lastAppLatencyProbe = -Infinity;
  private appLatency: AppLatencyWatch | undefined;
  private lastPressureProbe = -Infinity;
  private walCheckpoint: WalCheckpointWatch | undefined;
  /** The server's WAL bytes/s over the last pressure window (for the second worker's headroom). */
  private walBytesPerSec: number | undefined;
  /** Other client sessions busy in the last probe window (auto, no host CPU figures); undefined = not read. */
  private busySessions: number | undefined;
  /** The host's last figures (auto's second worker reads its CPU); null = none yet or an outage. */
  private hostFigures: HostFigures | null = null;
  private lastSessionsProbe = -Infinity;
  private lastHostProbe = -Infinity;
  private hostRules: HostRulesWatch | undefined;
  /** Size cut after statement timeouts when the runbook fixed the size. */
  private fixedSizeCut = 1;
  private retryLower: string[] | null = null;
  private retryRoundResolved = 0;
  private retryWaitMs = 0;
  private warnedLocked = false;
  /** Operator overrides last acknowledged in the log, and the size of the last batch run. */
  private ackedControl: { batchSize?: number; pauseMs?: number } = {};
  private lastSize?: number;
  /** The planner's share of the table's rows that the `where:` matches (1 without one). */
  private matchShare = 1;
  /** The second worker's key range (range-store.ts), from a split or a resumed run. */
  private lane: RangeLane | undefined;
  /** Every lane made, to release their connections at the end (a folded range's lane is dropped). */
  private lanes: RangeLane[] = [];
  private policy: SecondWorkerPolicy;
  /** The second worker's batch loop while it runs, and whether it should go on. */
  private second: Promise<void> | undefined;
  private secondWanted = false;
  /** The throttle's gap before each batch (wal_rate's duty cycle), for the second worker too. */
  private rulePauseMs = 0;
  private secondError: unknown;
  /** A split was tried and found no key to cut at, or failed for good: do not try again. */
  private noSplit = false;
  /** The policy's "second worker started" line, kept while a split failed transiently and is tried again. */
  private pendingStartLog: string | undefined;
  private lastBlockedProbeByPid = new Map<number, number>();

  /** How messages name the work: `backfill of s.t`, or the copy's own title. */
  private get what(): string {
    return this.cfg.title ?? `backfill of ${this.info?.display ?? this.cfg.table}`;
  }

  constructor(private readonly deps: BackfillDeps) {
    this.cfg = deps.cfg;
    this.random = deps.random ?? Math.random;
    this.client = new PinnedClient(deps.pool);
    this.policy = new SecondWorkerPolicy(deps.cfg.workers ?? 1, deps.clock);
    this.probes =
      deps.probes !== undefined
        ? deps.probes
        : deps.cfg.throttle.enabled
          ? new ThrottleProbes(deps.pool, deps.cfg.throttle.probeTimeoutMs, (m) => this.log('warn', m))
          : null;
  }

  async run(): Promise<BackfillResult> {
    const started = this.deps.clock.now();
    try {
      this.info = await introspectTable(this.deps.pool, this.cfg.table);
      const resumed = await this.openCursor();
      const matching = this.cfg.where ? await estimateMatching(this.deps.pool, this.info, this.cfg.where) : null;
      const rows = this.info.estimatedRows;
      if (matching !== null && rows) this.matchShare = Math.min(1, Math.max(1e-4, matching.rows / rows));
      this.tuner = new BatchTuner({
        initial: this.cfg.initialBatchSize,
        min: this.cfg.minBatchSize,
        max: this.cfg.maxBatchSize,
        targetMs: this.cfg.targetBatchMs,
      });
      if (resumed && this.state.batchSize && this.cfg.fixedBatchSize === undefined) this.tuner.restore(this.state.batchSize);
      this.governor = new ThrottleGovernor(this.cfg.throttle, this.cfg.targetBatchMs, this.cfg.minThroughput, this.deps.clock);
      this.progress = new ProgressTracker(
        this.deps.clock,
        { tableRows: this.info.estimatedRows, matchingRows: matching?.rows ?? null, hasWhere: !!this.cfg.where },
        (p) => this.deps.emit({ type: 'step.progress', stepId: this.deps.stepId, progress: { kind: 'backfill', ...p } }),
      );
      await this.loop();
      this.report(true);
      if (this.governor.summary !== null) this.deps.emit({ type: 'step.throttle', stepId: this.deps.stepId, reason: null });
      return {
        table: this.info.display,
        rowsDone: this.state.rowsDone,
        batches: this.state.batches,
        skippedRows: this.skippedRows,
        catchupRounds: this.state.catchupRound,
        resumed,
        durationMs: this.deps.clock.now() - started,
      };
    } finally {
      await this.stopSecond();
      for (const lane of this.lanes) lane.release(false);
      this.client.release(false);
      await this.probes?.close().catch(() => {});
    }
  }

  /** Reads the cursor of a previous attempt, or creates it with the main pass's bound. */
  private async openCursor(): Promise<boolean> {
    const { runId, stepId, pool } = this.deps;
    let cur: CursorRow | undefined;
    try {
      cur = await readCursor(pool, runId, stepId);
    } catch (err: any) {
      throw new RunbookError(`backfill: cannot read the cursor table: ${err.message}`, {
        sqlstate: err.code,
        hint: 'the role needs read/write access to schema pgrunbook',
      });
    }
    const keyNames = this.info.keys.map((k) => k.name);
    if (cur) {
      if (cur.tableName !== this.info.display || cur.keyColumns.join(',') !== keyNames.join(',')) {
        throw new RunbookError(
          `backfill: the saved cursor of step ${stepId} is for ${cur.tableName} (${cur.keyColumns.join(', ')}), not ${this.info.display} (${keyNames.join(', ')})`,
          { hint: 'the runbook changed since this run started; start a new run instead of resuming this one' },
        );
      }
      this.state = cur;
      this.log('info', `resuming: ${describeCursor(cur, this.what)}; ${restartPoint(cur)}`);
      const range = (await readRanges(pool, runId, stepId))[0];
      if (range) {
        this.lane = this.newLane(range);
        this.log('info', `resuming the second key range: ${describeRange(range)}`);
      }
      return true;
    }
    const max = await pool.query<{ k: string[] }>(maxKeySql(this.info, null, literalBinder));
    try {
      await createCursor(pool, {
        runId,
        stepId,
        tableName: this.info.display,
        keyColumns: keyNames,
        upperBound: max.rows[0]?.k ?? null,
        batchSize: this.cfg.fixedBatchSize ?? this.cfg.initialBatchSize,
      });
    } catch (err: any) {
      if (err?.code === '42P01' || err?.code === '3F000') {
        throw new RunbookError('backfill: the pgrunbook state tables are missing (pgrunbook.backfill_cursors)', {
          sqlstate: err.code,
          hint: 'run the backfill through `pgrunbook run`, which creates schema pgrunbook on first use',
        });
      }
      throw err;
    }
    this.state = (await readCursor(pool, runId, stepId))!;
    const bound = this.state.upperBound ? keyTuple(this.state.upperBound) : 'none (the table is empty)';
    this.log('info', `${this.what} by key (${keyNames.join(', ')}); main pass up to ${bound}`);
    return false;
  }

  private async loop(): Promise<void> {
    const { control, signal } = this.deps;
    let hadBatch = false;
    for (;;) {
      this.checkAbort();
      if (this.secondError) throw this.secondError;
      if (control.paused) {
        this.report(true, true);
        this.log('info', `${this.what} paused between batches at ${this.rowsText()} (p resumes)`);
        await this.interruptible(control.waitWhilePaused(signal));
        this.log('info', `${this.what} resumed`);
        this.report(true);
      }
      await this.probeReplication();
      await this.probeAppLatency();
      await this.probeWalCheckpoint();
      await this.probeHost();
      const d = this.governor.decide();
      this.rulePauseMs = d.pauseMs;
      this.announceThrottle();
      await this.steerSecond();
      if (d.shrink < 1) this.tuner.shrink(d.shrink);
      if (d.holdMs > 0) {
        this.report(false);
        await this.sleep(d.holdMs);
        continue;
      }
      this.acknowledgeControl();
      const pauseMs = Math.max(control.pauseMs ?? this.cfg.pauseMs, d.pauseMs);
      if (pauseMs > 0 && hadBatch) await this.sleep(pauseMs);
      this.lastSize = this.batchSize();
      const outcome = await this.attempt(this.lastSize);
      hadBatch = true;
      switch (outcome.kind) {
        case 'done':
          return;
        case 'pass':
          this.log('info', outcome.detail);
          if (outcome.to === 'done') return;
          this.report(true);
          break;
        case 'batch':
        case 'range-done':
          this.report(false);
          break;
        case 'ranges-left':
          await this.afterOwnRange(outcome.ranges);
          break;
        case 'retry':
          await this.afterRetryBatch(outcome);
          this.report(false);
          break;
      }
    }
  }

  /** Starts, keeps, parks or stops the second worker (second-worker-policy.ts decides). */
  private async steerSecond(): Promise<void> {
    if ((this.cfg.workers ?? 1) === 1 || this.state.pass !== 'main' || (this.lane?.done ?? false)) return;
    if (!this.lane && this.noSplit) return;
    const cfg = this.cfg.throttle;
    const now = this.deps.clock.now();
    const keysLeft = this.info.estimatedRows === null ? null : Math.max(0, this.info.estimatedRows - this.totals().keysDone);
    await this.probeBusySessions();
    const d = this.policy.decide({
      rowsDone: this.totals().rowsDone,
      batchesLeft: keysLeft === null ? null : keysLeft / Math.max(1, this.batchSize()),
      // wal_rate paces both workers (runSecond honours its gap); every other rule parks the second.
      throttle: this.governor.summaryWithout('wal_rate'),
      waiters: cfg.enabled && this.governor.waitersSeenSince(now - cfg.probeIntervalMs),
      hasRange: this.lane !== undefined,
      ...(this.busySessions !== undefined ? { busySessions: this.busySessions } : {}),
      ...(this.deps.host ? { host: this.hostCpu() } : {}),
      ...(this.walBytesPerSec !== undefined && cfg.enabled
        ? { wal: { bytesPerSec: this.walBytesPerSec, limit: this.walCheckpoint?.walLimit ?? cfg.walRateBytes } }
        : {}),
    });
    if (!d.run) {
      if (d.log) this.log('info', d.log);
      this.secondWanted = false;
      return;
    }
    // Once the first worker's own range is done the second one has nothing to share.
    if (!this.walking(this.state)) return;
    // The policy's line says the second worker started: said only once it has a range to start on.
    const startLog = d.log ?? this.pendingStartLog;
    if (!this.lane) await this.split(keysLeft);
    if (!this.lane) {
      // No keys to share, or a split that failed for good: one worker to the end. A transient
      // failure (lock, timeout, conflict, lost connection) is tried again between later batches.
      if (this.noSplit) this.policy.cancel();
      this.pendingStartLog = this.noSplit ? undefined : startLog;
      return;
    }
    this.pendingStartLog = undefined;
    if (startLog) this.log('info', startLog);
    if (!this.lane.done) this.startSecond();
  }

  /**
   * Cuts the first worker's remaining keys in two at the median key of a block sample (a real key,
   * never arithmetic on key values), in one transaction under the cursor row's lock.
   */
  private async split(keysLeft: number | null): Promise<void> {
    const { runId, stepId } = this.deps;
    const c = await this.client.get();
    try {
      const pct = await this.splitSamplePct(c, keysLeft);
      const locked = selects(await c.query([...this.begin(), lockCursorSql(runId, stepId)].join(';\n')))[0]?.rows[0];
      const cur = locked ? toRow(locked) : undefined;
      const existing = cur ? await readRanges(c, runId, stepId) : [];
      if (!cur || cur.pass !== 'main' || !this.walking(cur) || existing.length > 0) {
        await c.query('COMMIT');
        if (cur) this.state = cur;
        if (existing[0]) this.lane = this.newLane(existing[0]);
        return;
      }
      const r = await c.query<{ k: string[]; sampled: number }>(
        splitKeySql(this.info, cur.cursor, cur.upperBound!, pct, literalBinder, this.cfg.where),
      );
      const median = r.rows[0];
      if (!median || median.sampled < 3) {
        await c.query('COMMIT');
        this.noSplit = true;
        this.log(
          'info',
          `second worker not started: a ${samplePct(pct)} block sample found ${median?.sampled ?? 0} keys${this.cfg.where ? ' matching where:' : ''} left to cut at`,
        );
        return;
      }
      await insertRange(c, runId, stepId, 2, median.k, cur.upperBound!);
      await c.query('COMMIT');
      this.state = { ...cur, upperBound: median.k };
      const range = {
        rangeNo: 2,
        lowerBound: median.k,
        upperBound: cur.upperBound!,
        cursor: median.k,
        rowsDone: 0,
        keysDone: 0,
        batches: 0,
      };
      this.lane = this.newLane(range);
      this.log(
        'info',
        `main pass cut at key ${keyTuple(median.k)}, the median of ${median.sampled} keys${this.cfg.where ? ' matching where:' : ''} in a ${samplePct(pct)} block sample: the first worker walks up to it, the second from it to ${keyTuple(range.upperBound)}`,
      );
    } catch (err: any) {
      await c.query('ROLLBACK').catch(() => this.client.release(true));
      if (classifyFailure(err) !== 'fatal') return;
      this.noSplit = true;
      this.log('warn', `second worker not started: cutting the key range failed (${err?.message ?? err}); one worker goes on`);
    }
  }

  /**
   * The share of the table's pages the split's block sample reads: enough for SPLIT_SAMPLE_KEYS keys
   * (that the `where:` matches, by the planner's share) and for SPLIT_SAMPLE_PAGES pages of the range
   * left. A block sample takes whole pages of neighbouring keys, so the median's precision follows
   * the number of pages: 2,000 keys on a narrow table were 12 pages, and a cut at 6,845 of 1-30,000
   * (a fifth of the range instead of half) came up in tests.
   */
  private async splitSamplePct(c: pg.PoolClient, keysLeft: number | null): Promise<number> {
    if (!keysLeft) return 1;
    const forKeys = (100 * SPLIT_SAMPLE_KEYS) / (keysLeft * this.matchShare);
    const rows = this.info.estimatedRows;
    const pages = await tablePages(c, this.info);
    const forPages = rows ? (100 * SPLIT_SAMPLE_PAGES) / (pages * Math.min(1, keysLeft / rows)) : 0;
    return Math.min(100, Math.max(0.01, forKeys, forPages));
  }

  private newLane(range: RangeRow): RangeLane {
    const { pool, runId, stepId } = this.deps;
    const lane = new RangeLane(
      {
        pool,
        info: this.info,
        runId,
        stepId,
        begin: () => this.begin(),
        batchSql: (mode, lower, move) => this.batchSql(mode, lower, move),
        watchWaiters: (pid) => this.scheduleBlockedProbe(pid),
      },
      range,
    );
    this.lanes.push(lane);
    return lane;
  }

  private startSecond(): void {
    this.secondWanted = true;
    if (this.second) return;
    this.second = this.runSecond(this.lane!)
      .catch((err) => {
        if (!this.deps.signal.aborted) this.secondError = err;
      })
      .finally(() => {
        this.second = undefined;
      });
  }

  /** The second worker: batches on its range while wanted, honouring pause and the operator's keys. */
  private async runSecond(lane: RangeLane): Promise<void> {
    const { control, signal } = this.deps;
    let hadBatch = false;
    while (this.secondWanted && !lane.done && !signal.aborted) {
      if (control.paused) {
        await this.interruptible(control.waitWhilePaused(signal));
        continue;
      }
      const pauseMs = Math.max(control.pauseMs ?? this.cfg.pauseMs, this.rulePauseMs);
      if (pauseMs > 0 && hadBatch) await this.sleep(pauseMs);
      if (!this.secondWanted) break;
      await this.attempt(this.batchSize(), lane);
      hadBatch = true;
      this.report(false);
    }
    if (lane.done) this.log('info', `second worker finished its key range: ${describeRange(lane.state)}`);
    lane.release(false);
  }

  private async stopSecond(): Promise<void> {
    this.secondWanted = false;
    await this.second;
  }

  /**
   * The first worker reached its bound while a range is unfinished: wait for the second worker,
   * or walk the range itself when the second is not running (parked, stopped, or a resumed run).
   */
  private async afterOwnRange(ranges: RangeRow[]): Promise<void> {
    if (this.second) {
      await this.sleep(Math.min(200, Math.max(20, this.lastBatchMs)));
      return;
    }
    const open = ranges.find((r) => !rangeDone(r))!;
    if (!this.lane || this.lane.state.rangeNo !== open.rangeNo) this.lane = this.newLane(open);
    await this.attempt(this.lastSize ?? this.batchSize(), this.lane);
    this.report(false);
  }

  /** The backends of both workers (the second one waiting on our locks is not an application). */
  private ownPids(): number[] {
    const pids = [this.client.pid, ...this.lanes.map((l) => l.pid)];
    return pids.filter((p): p is number => typeof p === 'number');
  }

  /** Rows, keys and batches of both ranges. */
  private totals(): { rowsDone: number; keysDone: number; batches: number } {
    const s = this.state;
    const r = this.lane?.state;
    return { rowsDone: s.rowsDone + (r?.rowsDone ?? 0), keysDone: s.keysDone + (r?.keysDone ?? 0), batches: s.batches + (r?.batches ?? 0) };
  }

  private batchSize(): number {
    const override = this.deps.control.batchSize;
    return override !== undefined ? Math.max(1, Math.round(override)) : this.ownBatchSize();
  }

  private ownBatchSize(): number {
    if (this.cfg.fixedBatchSize !== undefined) return Math.max(1, Math.round(this.cfg.fixedBatchSize * this.fixedSizeCut));
    return this.tuner.size;
  }

  /** Logs an operator's batch-size or pause change (+ - [ ]) when it takes effect, with the value it replaces. */
  private acknowledgeControl(): void {
    const { batchSize, pauseMs } = this.deps.control;
    const acked = this.ackedControl;
    if (batchSize !== acked.batchSize) {
      const was = acked.batchSize ?? this.lastSize ?? this.ownBatchSize();
      this.log(
        'info',
        batchSize === undefined
          ? `batch size back to ${this.what}'s own (${this.ownBatchSize().toLocaleString('en-US')} rows)`
          : `batch size ${was.toLocaleString('en-US')} → ${batchSize.toLocaleString('en-US')} rows (set by the operator), from the next batch`,
      );
    }
    if (pauseMs !== acked.pauseMs) {
      const was = acked.pauseMs ?? this.cfg.pauseMs;
      const now = pauseMs ?? this.cfg.pauseMs;
      this.log('info', `pause between batches ${formatMs(was)} → ${formatMs(now)} (set by the operator)`);
    }
    this.ackedControl = { batchSize, pauseMs };
  }

  private rowsText(): string {
    return `${this.totals().rowsDone.toLocaleString('en-US')} rows done`;
  }

  /**
   * One batch transaction, redone as the failure class says (see the header). `lane` runs it on the
   * second worker's range instead of the step's cursor.
   */
  private async attempt(size: number, lane?: RangeLane): Promise<TxOutcome> {
    const tx = lane ? (s: number, m: Mode) => this.laneTransaction(lane, s, m) : (s: number, m: Mode) => this.transaction(s, m);
    const release = lane ? (broken: boolean) => lane.release(broken) : (broken: boolean) => this.client.release(broken);
    let mode: Mode = 'fast';
    let lockFailures = 0;
    let reconnectSince: number | undefined;
    const t0 = this.deps.clock.now();
    for (;;) {
      this.checkAbort();
      try {
        const out = await tx(size, mode);
        // Reported batch time includes a try that hit lock_timeout and its SKIP LOCKED redo.
        if (out.kind === 'batch') this.lastBatchMs = this.deps.clock.now() - t0;
        return out;
      } catch (err: any) {
        const kind = classifyFailure(err);
        if (kind === 'connection') release(true);
        this.checkAbort();
        switch (kind) {
          case 'lock': {
            lockFailures++;
            if (mode === 'fast') {
              mode = 'skip-locked'; // step around the held rows right away
              continue;
            }
            await this.afterLockTimeout(err, lockFailures);
            continue;
          }
          case 'conflict': {
            lockFailures++;
            if (lockFailures > LOCK_RETRIES) throw this.fatal(err);
            await this.sleep(this.backoff(lockFailures, 20, 1000));
            continue;
          }
          case 'statement-timeout': {
            if (size <= this.cfg.minBatchSize) throw this.fatal(err);
            size = Math.max(this.cfg.minBatchSize, Math.floor(size / 4));
            if (this.cfg.fixedBatchSize !== undefined) this.fixedSizeCut /= 4;
            else this.tuner.shrink(0.25);
            this.log('warn', `a batch hit statement_timeout (${this.cfg.statementTimeoutMs} ms); retrying with ${size} rows`);
            continue;
          }
          case 'connection': {
            reconnectSince ??= this.deps.clock.now();
            await this.beforeReconnect(err, reconnectSince);
            continue;
          }
          default:
            throw this.fatal(err);
        }
      }
    }
  }

  /** A lock timeout even with SKIP LOCKED (a table-level lock): back off and retry, or give up with a hint. */
  private async afterLockTimeout(err: any, failures: number): Promise<void> {
    if (failures > LOCK_RETRIES) {
      throw new RunbookError(
        `${this.what}: could not lock ${this.info.display} or its cursor after ${LOCK_RETRIES} tries (${err.message})`,
        {
          sqlstate: err.code,
          hint: 'a session holds a table-level lock (DDL, LOCK TABLE, VACUUM FULL); find it in the Locks panel, let it finish or end it, then `pgrunbook resume`: progress so far is kept',
        },
      );
    }
    const delayMs = this.backoff(failures, 50, 2000);
    this.deps.emit({
      type: 'step.retry',
      stepId: this.deps.stepId,
      attempt: failures,
      of: LOCK_RETRIES,
      delayMs,
      reason: `lock_timeout (${this.cfg.lockTimeoutMs} ms): ${err.message}`,
    });
    await this.sleep(delayMs);
  }

  /** A lost connection: wait and reconnect (the next try opens a new one), for at most the reconnect window. */
  private async beforeReconnect(err: any, since: number): Promise<void> {
    const now = this.deps.clock.now();
    if (now - since > RECONNECT_WINDOW_MS) {
      throw new RunbookError(
        `${this.what}: lost the connection and could not get it back within ${RECONNECT_WINDOW_MS / 1000} s (${err.message})`,
        {
          sqlstate: err.code,
          hint: 'check that the server is up and reachable, then `pgrunbook resume`: the cursor keeps every committed batch',
        },
      );
    }
    const delayMs = this.backoff(Math.min(8, 1 + Math.floor((now - since) / 2000)), 100, 5000);
    this.deps.emit({
      type: 'step.retry',
      stepId: this.deps.stepId,
      attempt: 1,
      of: 1,
      delayMs,
      reason: `connection lost (${err.code ?? err.message}); reconnecting`,
    });
    await this.sleep(delayMs);
  }

  private fatal(err: any): Error {
    if (err instanceof RunbookError || err instanceof AbortedError) return err;
    const check = this.cfg.copy
      ? "check the step's `columns:` (type, using)"
      : "check the step's `set` and `where` (run `pgrunbook plan` to time one batch)";
    return new RunbookError(`${this.what} failed: ${err?.message ?? err}`, {
      sqlstate: err?.code,
      hint: `${err?.hint ? `${err.hint}. ` : ''}${check}; every committed batch is kept, and \`pgrunbook resume\` continues from the cursor`,
      cause: err,
    });
  }

  /**
   * One batch transaction in (usually) two round trips, both simple-protocol with literal values:
   *   1. BEGIN + settings + lock the cursor row + the boundary of the batch we expect to run;
   *   2. the UPDATE with the cursor move + COMMIT.
   * The boundary is computed from the cursor we expect (the one the previous batch left); if the
   * locked row says otherwise (first batch after a resume, an orphaned session of a killed runner
   * committed meanwhile), it is recomputed from the locked row before anything is written.
   */
  private async transaction(size: number, mode: Mode): Promise<TxOutcome> {
    const c = await this.client.get();
    const t0 = this.deps.clock.now();
    const expected = this.state;
    const walking = this.walking(expected);
    const first = [...this.begin(), lockCursorSql(this.deps.runId, this.deps.stepId)];
    if (walking) first.push(boundarySql(this.info, expected.cursor, expected.upperBound!, size, literalBinder));
    const probe = this.scheduleBlockedProbe((c as any).processID);
    let committed = false;
    try {
      const results = selects(await c.query(first.join(';\n')));
      const locked = results[0]?.rows[0];
      if (!locked)
        throw new RunbookError(`backfill: the cursor of step ${this.deps.stepId} disappeared from pgrunbook.backfill_cursors`, {
          hint: 'was the state schema reset? start a new run',
        });
      const cur = toRow(locked);
      this.state = cur;
      const matches =
        walking &&
        cur.pass === expected.pass &&
        sameKey(cur.upperBound, expected.upperBound) &&
        sameOrBothNull(cur.cursor, expected.cursor);
      const boundary = matches ? { row: results[1]?.rows[0] as { k: string[] } | undefined } : undefined;
      const out = await this.inTransaction(c, cur, size, mode, boundary);
      committed = out.committed;
      if (!committed) await c.query('COMMIT');
      committed = true;
      if (out.outcome.kind === 'batch') this.observeBatch(out.outcome, this.deps.clock.now() - t0);
      return out.outcome;
    } catch (err) {
      if (!committed) await c.query('ROLLBACK').catch(() => this.client.release(true));
      throw err;
    } finally {
      await probe.settle();
    }
  }

  /** A batch on the second worker's range (range-lane.ts), with the same bookkeeping. */
  private async laneTransaction(lane: RangeLane, size: number, mode: Mode): Promise<TxOutcome> {
    const t0 = this.deps.clock.now();
    const out = await lane.transaction(size, mode);
    if (out.kind === 'batch') this.observeBatch(out, this.deps.clock.now() - t0);
    return out;
  }

  private observeBatch(o: { keys: number; updated: number; skipped: number }, ms: number): void {
    this.skippedRows += o.skipped;
    if (this.deps.control.batchSize === undefined && this.cfg.fixedBatchSize === undefined) this.tuner.observe(o.keys, ms);
    // Throughput is judged after the fixed cost the tuner measured (0 while it has not tuned).
    this.governor.observeBatch(o.keys, ms, this.tuner.fixedCostMs, o.updated);
  }

  /** BEGIN and the settings of every batch transaction. */
  private begin(): string[] {
    const cfg = this.cfg;
    // SET LOCAL: these end with the transaction. No JIT: compiling a plan repeated thousands of
    // times costs more than it saves. idle_in_transaction_session_timeout frees our row locks if
    // this process stalls mid-transaction (SIGSTOP, a hung network).
    // synchronous_commit = off: COMMIT does not wait for the WAL flush, which otherwise costs a
    // synchronous fsync of the whole batch's WAL per batch (often as much as the batch itself). It
    // cannot break exactly-once: a server crash can lose the last few committed batches, but the
    // cursor row is in the same transaction and is lost with them, and every batch re-reads the
    // cursor from the database, so those batches are simply done again, once.
    return [
      'BEGIN',
      `SET LOCAL lock_timeout = ${Math.round(cfg.lockTimeoutMs)}`,
      `SET LOCAL statement_timeout = ${Math.round(cfg.statementTimeoutMs)}`,
      `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(10_000, Math.round(cfg.statementTimeoutMs))}`,
      'SET LOCAL jit = off',
      'SET LOCAL synchronous_commit = off',
    ];
  }

  /** In a pass that walks keys, with keys left before the bound. */
  private walking(s: CursorRow): boolean {
    return (s.pass === 'main' || s.pass === 'catch-up') && s.upperBound !== null && !sameKey(s.cursor, s.upperBound);
  }

  private async inTransaction(
    c: pg.PoolClient,
    cur: CursorRow,
    size: number,
    mode: Mode,
    boundary: { row: { k: string[] } | undefined } | undefined,
  ): Promise<{ outcome: TxOutcome; committed: boolean }> {
    const { runId, stepId } = this.deps;
    if (cur.pass === 'done') return { outcome: { kind: 'done' }, committed: false };
    if (cur.pass === 'retry') return { outcome: await this.retryBatch(c, size), committed: false };
    if (!this.walking(cur)) return { outcome: await this.endPass(c, cur), committed: false };
    if (!boundary) {
      const q = await c.query<{ k: string[] }>(boundarySql(this.info, cur.cursor, cur.upperBound!, size, literalBinder));
      boundary = { row: q.rows[0] };
    }
    const end = boundary.row?.k ?? cur.upperBound!;
    // Rows in the batch's key range: `size`, or unknown for the pass's last batch (counted in SQL).
    const keys = boundary.row ? size : null;
    const sql = this.batchSql(mode, cur.cursor, { runId, stepId, end, keys, batchSize: size });
    const row = selects(await c.query(`${sql};\nCOMMIT`))[0]!.rows[0] as { updated: number; skipped: number; rows_done: number };
    this.state = {
      ...cur,
      cursor: end,
      rowsDone: row.rows_done,
      keysDone: cur.keysDone + (keys ?? row.updated),
      batches: cur.batches + 1,
      batchSize: size,
    };
    return {
      outcome: {
        kind: 'batch',
        keys: keys ?? row.updated,
        updated: row.updated,
        skipped: row.skipped,
        rowsDone: row.rows_done,
        batchSize: size,
      },
      committed: true,
    };
  }

  /** One batch's statement: an UPDATE of the key range, or its copy into another table. */
  private batchSql(mode: Mode, lower: string[] | null, move: CursorMove): string {
    const { copy, set, where } = this.cfg;
    if (copy) {
      const input = { info: this.info, copy };
      return mode === 'fast' ? fastCopySql(input, lower, move, literalBinder) : skipLockedCopySql(input, lower, move, literalBinder);
    }
    if (this.cfg.deleteRows) {
      const input = { info: this.info, where };
      return mode === 'fast' ? fastDeleteSql(input, lower, move, literalBinder) : skipLockedDeleteSql(input, lower, move, literalBinder);
    }
    const input = { info: this.info, set, where };
    return mode === 'fast' ? fastBatchSql(input, lower, move, literalBinder) : skipLockedBatchSql(input, lower, move, literalBinder);
  }

  /** The cursor reached the pass's bound: take a new bound above it (catch-up) or move on. */
  private async endPass(c: pg.PoolClient, reached: CursorRow): Promise<TxOutcome> {
    const { runId, stepId } = this.deps;
    const from = reached.pass;
    let cur = reached;
    if (from === 'main') {
      const ranges = await this.foldRanges(c, cur);
      if (!('pass' in ranges)) return ranges;
      cur = ranges;
    }
    const rounds = this.cfg.catchupRounds ?? MAX_CATCHUP_ROUNDS;
    if ((from === 'main' && rounds > 0) || (from === 'catch-up' && cur.catchupRound < rounds)) {
      const m = await c.query<{ k: string[] }>(maxKeySql(this.info, cur.cursor, literalBinder));
      const above = m.rows[0]?.k;
      if (above) {
        const round = cur.catchupRound + 1;
        await setPass(c, runId, stepId, 'catch-up', above, round);
        this.state = { ...cur, pass: 'catch-up', upperBound: above, catchupRound: round };
        return {
          kind: 'pass',
          from,
          to: 'catch-up',
          detail: `catch-up pass ${round}: rows added since the last bound, up to ${keyTuple(above)}`,
        };
      }
    }
    await setPass(c, runId, stepId, 'retry', cur.upperBound, cur.catchupRound);
    this.state = { ...cur, pass: 'retry' };
    return {
      kind: 'pass',
      from,
      to: 'retry',
      detail: `key walk finished (${cur.rowsDone} rows); checking rows skipped because of locks held by other sessions`,
    };
  }

  /**
   * At the first worker's bound in the main pass: while a range row is unfinished, say so (the
   * second worker, or this one, finishes it); once all are, fold them into the cursor row, in this
   * transaction, and carry on from their bound.
   */
  private async foldRanges(c: pg.PoolClient, cur: CursorRow): Promise<CursorRow | Extract<TxOutcome, { kind: 'ranges-left' }>> {
    const { runId, stepId } = this.deps;
    // Read unlocked first: the second worker holds its row's lock during each of its batches.
    const seen = await readRanges(c, runId, stepId);
    if (seen.length === 0) return cur;
    if (!seen.every(rangeDone)) return { kind: 'ranges-left', ranges: seen };
    const ranges = await readRanges(c, runId, stepId, true);
    if (!ranges.every(rangeDone)) return { kind: 'ranges-left', ranges };
    // Its range is folded: the lane's connection would otherwise stay checked out until the step ends.
    this.lane?.release(false);
    this.lane = undefined;
    this.state = await mergeRanges(c, runId, stepId, ranges);
    return this.state;
  }

  private async retryBatch(c: pg.PoolClient, size: number): Promise<TxOutcome> {
    const { runId, stepId } = this.deps;
    const { copy, set, where } = this.cfg;
    const r = await c.query<{ considered: number; updated: number; resolved: number; rows_done: number; last_key: string[] | null }>(
      copy
        ? retryCopySql({ info: this.info, copy }, runId, stepId, size, this.retryLower, literalBinder)
        : this.cfg.deleteRows
          ? retryDeleteSql({ info: this.info, where }, runId, stepId, size, this.retryLower, literalBinder)
          : retryBatchSql({ info: this.info, set, where }, runId, stepId, size, this.retryLower, literalBinder),
    );
    const row = r.rows[0]!;
    if (row.considered === 0 && this.retryLower === null) {
      await setPass(c, runId, stepId, 'done', this.state.upperBound, this.state.catchupRound);
      this.state = { ...this.state, pass: 'done' };
      return {
        kind: 'pass',
        from: 'retry',
        to: 'done',
        detail: `${this.what} finished: ${this.state.rowsDone} rows in ${this.state.batches} batches`,
      };
    }
    this.state = { ...this.state, rowsDone: row.rows_done, batches: this.state.batches + 1 };
    return {
      kind: 'retry',
      considered: row.considered,
      updated: row.updated,
      resolved: row.resolved,
      rowsDone: row.rows_done,
      lastKey: row.last_key,
    };
  }

  /** Walks the skipped keys round after round; waits between rounds that resolved nothing. */
  private async afterRetryBatch(o: Extract<TxOutcome, { kind: 'retry' }>): Promise<void> {
    this.retryRoundResolved += o.resolved;
    const endOfRound = o.considered < this.batchSize() || o.lastKey === null;
    this.retryLower = endOfRound ? null : o.lastKey;
    if (!endOfRound) return;
    const resolvedAny = this.retryRoundResolved > 0;
    this.retryRoundResolved = 0;
    if (resolvedAny) {
      this.retryWaitMs = 0;
      return;
    }
    // Everything left is still locked by other sessions: wait for their transactions to end.
    this.retryWaitMs = Math.min(2000, Math.max(100, this.retryWaitMs * 2));
    if (!this.warnedLocked) {
      this.warnedLocked = true;
      this.log(
        'warn',
        `${o.considered > 0 ? 'some' : 'no'} rows are still locked by other sessions; retrying every ${this.retryWaitMs}-2000 ms until their transactions end (the Locks panel shows who holds them)`,
      );
    }
    await this.sleep(this.retryWaitMs);
  }

  /** Starts the blocked-sessions probe part-way into a batch, at most once per probe interval. */
  private scheduleBlockedProbe(pid: number | undefined): { settle(): Promise<void> } {
    const cfg = this.cfg.throttle;
    const now = this.deps.clock.now();
    // app_latency needs it too: calls that stall while sessions wait on our rows count as a rise.
    const wanted = cfg.blockedSessions > 0 || (cfg.appLatencyFactor > 0 && !!this.probes?.statementStats);
    if (!this.probes || !pid || !cfg.enabled || !wanted || now - (this.lastBlockedProbeByPid.get(pid) ?? -Infinity) < cfg.probeIntervalMs) {
      return { settle: async () => {} };
    }
    const delay = Math.min(50, this.cfg.targetBatchMs / 2);
    const ac = new AbortController();
    const probes = this.probes;
    // A long batch is looked at again every probe interval until it ends.
    const running = (async () => {
      await this.deps.clock.sleep(delay, ac.signal);
      while (!ac.signal.aborted) {
        this.lastBlockedProbeByPid.set(pid, this.deps.clock.now());
        const r = await probes.blockedBy(pid, this.ownPids());
        if (r && r.count > 0) this.governor.observeBlocked(r.count, r.maxWaitMs);
        await this.deps.clock.sleep(cfg.probeIntervalMs, ac.signal);
      }
    })().catch(() => {});
    return {
      settle: async () => {
        ac.abort();
        await running;
      },
    };
  }

  /**
   * Whether the application is at work, for `auto`'s second worker: read only while no host
   * endpoint gives CPU figures (with them, the host says whether a core is spare).
   */
  private async probeBusySessions(): Promise<void> {
    const cfg = this.cfg.throttle;
    const now = this.deps.clock.now();
    const probes = this.probes;
    if (this.cfg.workers !== 'auto' || this.hostCpu() || !probes?.busySessions || !cfg.enabled) return;
    if (now - this.lastSessionsProbe < cfg.probeIntervalMs) return;
    this.lastSessionsProbe = now;
    this.busySessions = await probes.busySessions(this.ownPids(), cfg.probeIntervalMs);
  }

  private async probeReplication(): Promise<void> {
    const cfg = this.cfg.throttle;
    const now = this.deps.clock.now();
    if (!this.probes || !cfg.enabled || now - this.lastReplicationProbe < cfg.probeIntervalMs) return;
    this.lastReplicationProbe = now;
    const standbys = await this.probes.replication();
    if (standbys) this.governor.observeReplication(standbys);
  }

  private async probeAppLatency(): Promise<void> {
    const cfg = this.cfg.throttle;
    const now = this.deps.clock.now();
    const probes = this.probes;
    if (!probes?.statementStats || !cfg.enabled || cfg.appLatencyFactor <= 0 || now - this.lastAppLatencyProbe < cfg.probeIntervalMs)
      return;
    this.lastAppLatencyProbe = now;
    this.appLatency ??= new AppLatencyWatch(
      this.info.display,
      () => probes.statementStats!([this.info.display], this.deps.clock.now()),
      (level, m) => this.log(level, m),
      cfg.appLatencyExplicit,
      { ms: cfg.probeIntervalMs, sleep: (ms) => this.sleep(ms) },
    );
    const r = await this.appLatency.poll((t) => this.governor.waitersSeenSince(t));
    if (r) this.governor.observeAppLatency(r.now, r.baseline, this.info.display);
    for (const note of this.governor.takeNotes()) this.log('info', note);
  }

  private announceThrottle(): void {
    for (const ch of this.governor.changes()) {
      this.deps.emit({ type: 'step.throttle', stepId: this.deps.stepId, reason: ch.reason, ...(ch.detail ? { detail: ch.detail } : {}) });
    }
  }

  private async probeWalCheckpoint(): Promise<void> {
    const cfg = this.cfg.throttle;
    const now = this.deps.clock.now();
    const probes = this.probes;
    const wanted = cfg.walRateBytes > 0 || cfg.checkpointPressureMs > 0;
    if (!probes?.serverPressure || !cfg.enabled || !wanted || now - this.lastPressureProbe < cfg.probeIntervalMs) return;
    this.lastPressureProbe = now;
    const table = this.info.display;
    this.walCheckpoint ??= new WalCheckpointWatch(
      {
        walRateBytes: cfg.walRateBytes,
        checkpointPressureMs: cfg.checkpointPressureMs,
        explicit: cfg.walCheckpointExplicit,
        walRateByDefault: cfg.walRateByDefault,
      },
      table,
      () => probes.serverPressure!(table, this.deps.clock.now()),
      (level, m) => this.log(level, m),
      probes.walConsumers?.bind(probes),
    );
    const v = await this.walCheckpoint.poll();
    if (v.window) this.walBytesPerSec = v.window.walBytesPerSec;
    if (v.walRate !== undefined) this.governor.observeRule('wal_rate', v.walRate);
    if (v.checkpointPressure !== undefined) this.governor.observeRule('checkpoint_pressure', v.checkpointPressure);
  }

  private async probeHost(): Promise<void> {
    const cfg = this.cfg.throttle;
    const now = this.deps.clock.now();
    const host = this.deps.host;
    if (!host && cfg.enabled && cfg.hostExplicit && !this.hostRules && this.lastHostProbe === -Infinity) {
      this.lastHostProbe = now;
      this.log(
        'warn',
        'throttle host_cpu / io_wait is set but this run has no host endpoint: pass --node-exporter URL or --prometheus URL to watch the host',
      );
    }
    // auto reads the host for its second worker even with host_cpu and io_wait off.
    const wanted = cfg.hostCpuPct > 0 || cfg.ioWaitPct > 0 || this.cfg.workers === 'auto';
    if (!host || !cfg.enabled || !wanted || now - this.lastHostProbe < cfg.probeIntervalMs) return;
    this.lastHostProbe = now;
    this.hostRules ??= new HostRulesWatch(
      { hostCpuPct: cfg.hostCpuPct, ioWaitPct: cfg.ioWaitPct, explicit: cfg.hostExplicit },
      host,
      (level, m) => this.log(level, m),
    );
    const v = await this.hostRules.poll();
    if (v.figures !== undefined) this.hostFigures = v.figures;
    if (v.hostCpu !== undefined) this.governor.observeRule('host_cpu', v.hostCpu);
    if (v.ioWait !== undefined) this.governor.observeRule('io_wait', v.ioWait);
  }

  /** The host's CPU for the second worker's start; null while the endpoint gives no CPU figures. */
  private hostCpu(): HostCpu | null {
    const f = this.hostFigures;
    if (!f?.cpus || !this.deps.host) return null;
    const limit = this.cfg.throttle.hostCpuPct;
    return { busyPct: f.cpuBusyPct, cpus: f.cpus, seconds: f.seconds, limitPct: limit > 0 ? limit : 100, source: this.deps.host.source };
  }

  private report(force: boolean, paused = this.deps.control.paused): void {
    const s = this.state;
    const t = this.totals();
    const r = this.lane?.state;
    this.progress.update(
      {
        rowsDone: t.rowsDone,
        keysDone: t.keysDone,
        batches: t.batches,
        batchSize: this.batchSize(),
        pauseMs: Math.max(this.deps.control.pauseMs ?? this.cfg.pauseMs, 0),
        lastBatchMs: this.lastBatchMs,
        pass: s.pass === 'done' ? 'retry' : s.pass,
        paused,
        throttle: this.governor.summary,
        ...(r ? { workers: { running: this.second ? 2 : 1, batches: [s.batches, r.batches], rows: [s.rowsDone, r.rowsDone] } } : {}),
      },
      force,
    );
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.deps.emit({ type: 'step.log', stepId: this.deps.stepId, level, message });
  }

  private backoff(attempt: number, baseMs: number, capMs: number): number {
    const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private checkAbort(): void {
    if (this.deps.signal.aborted) throw this.abortError();
  }

  private abortError(): AbortedError {
    return new AbortedError(
      `${this.cfg.copy ? 'copy' : 'backfill'} stopped at a batch boundary (${this.state ? this.totals().rowsDone : 0} rows done); resume continues from the cursor`,
    );
  }

  private async sleep(ms: number): Promise<void> {
    await this.interruptible(this.deps.clock.sleep(ms, this.deps.signal));
  }

  private async interruptible(p: Promise<void>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (this.deps.signal.aborted) throw this.abortError();
      throw err;
    }
  }
}
