// The headless monitor: polls the probes every interval (1 s by default) and hands a MonitorSample
// to each subscriber. It never hurts production: its own small pool, its own application_name,
// statement_timeout 500 ms and lock_timeout 100 ms on every session, read-only transactions, no size
// function on a relation with an ACCESS EXCLUSIVE lock granted or pending, and probes that fail for
// lack of privileges turn into notes instead of errors.
import type pg from 'pg';
import { systemClock, type Clock } from '../util/clock.js';
import { createPool, type ConnectionSpec } from '../pg/connection.js';
import { sqlText } from '../pg/sql-files.js';
import type { Queryable } from '../pg/queryable.js';
import { cancelOwnStatement, type CancelResult } from './cancel.js';
import { buildLockSessions, type LockRow } from './lock-tree.js';
import { RecentWaits } from './recent-waits.js';
import { ProbeRunner, type ProbeDb, type ProbeResult } from './monitor-probes.js';
import { isHidden, MONITOR_APP, selectLongQueries, type ActivityRow } from './sessions.js';
import type { HostSample, IndexBuild, MonitorSample, RelationSize, StandbyLag } from './monitor-types.js';
import type { HostSignals } from '../engine/ports.js';
import { WorkloadWatch } from './workload-watch.js';

export const DEFAULT_INTERVAL_MS = 1000;
export const DEFAULT_LONG_QUERY_SECONDS = 5;
export const MONITOR_SESSION_SETTINGS = {
  statement_timeout: '500ms',
  lock_timeout: '100ms',
  idle_in_transaction_session_timeout: '5s',
  default_transaction_read_only: 'on',
  // The probes are small catalog queries run as prepared statements: plan them once, not every poll.
  plan_cache_mode: 'force_generic_plan',
} as const;

export interface MonitorOptions {
  /** Poll interval; default 1000 ms. */
  intervalMs?: number;
  /** Sessions whose statement or transaction is older than this are "long queries"; default 5 s. */
  longQuerySeconds?: number;
  /** Relations whose total size to track (guarded: skipped under ACCESS EXCLUSIVE). */
  relations?: string[];
  /** The database host's figures, read with each poll (the Workload panel's host line). */
  host?: HostSignals;
  /** Sessions and index builds of every database on the server, not just the one connected to (default false). */
  allDatabases?: boolean;
  /** Longest query text kept per session; default 300 characters. */
  queryChars?: number;
  clock?: Clock;
}

/** The monitor's own pool: application_name pgrunbook:monitor and short timeouts on every session. */
export function createMonitorPool(spec: ConnectionSpec, settings: Record<string, string> = {}): pg.Pool {
  return createPool(spec, {
    applicationName: MONITOR_APP,
    max: 3,
    sessionSettings: { ...MONITOR_SESSION_SETTINGS, ...settings },
  });
}

export type SampleListener = (sample: MonitorSample) => void;
export type ErrorListener = (err: unknown) => void;

interface ActivityResult {
  sessions: ActivityRow[];
  counts: Record<string, number>;
  max_connections: number;
  now_epoch: number;
}

interface IndexRow {
  pid: number;
  database: string | null;
  command: string;
  phase: string;
  relation: string | null;
  index: string | null;
  index_oid: string | null;
  blocks_done: string | null;
  blocks_total: string | null;
  tuples_done: string | null;
  tuples_total: string | null;
  lockers_done: string | null;
  lockers_total: string | null;
  current_locker_pid: number | null;
}

interface ReplicationRow {
  in_recovery: boolean;
  lsn: string | null;
  receive_lsn: string | null;
  replay_gap_bytes: number | null;
  last_replay_seconds: number | null;
  server_time: number;
  standbys: {
    pid: number;
    name: string;
    clientAddr: string | null;
    state: string | null;
    syncState: string | null;
    lagBytes: number | null;
    replayLag: number | null;
    slot: string | null;
  }[];
  slots: { name: string; type: string; active: boolean; walStatus: string | null; retainedBytes: number | null; database: string | null }[];
}

interface SizeRow {
  kind: 'watch' | 'index';
  name: string;
  oid: string | null;
  present: boolean;
  ael: 'granted' | 'pending' | null;
  bytes: number | null;
}

/** 'X/Y' (hex) -> bytes since the start of WAL. */
export function lsnToNumber(lsn: string): number {
  const [hi, lo] = lsn.split('/');
  return Number((BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`));
}

/** A throwing listener must not stop the polling loop or the other listeners. */
function isolated(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.emitWarning(`pgrunbook monitor listener failed: ${(err as Error)?.message ?? String(err)}`);
  }
}

const num = (v: string | number | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));

export class Monitor {
  private readonly listeners = new Set<SampleListener>();
  private readonly errorListeners = new Set<ErrorListener>();
  private readonly clock: Clock;
  private intervalMsValue: number;
  private readonly longQuerySeconds: number;
  private readonly queryChars: number;
  private readonly relations: string[];
  private readonly host: HostSignals | undefined;
  private readonly allDatabases: boolean;
  private probes?: ProbeRunner;
  private serverVersionNum = 0;
  private prevWal?: { lsn: number; t: number; role: 'primary' | 'standby' };
  private loop?: Promise<void>;
  private abort?: AbortController;
  private inFlight?: Promise<MonitorSample>;
  private latestSample?: MonitorSample;
  private stopped = false;
  private readonly recentWaits = new RecentWaits();
  private workload?: WorkloadWatch;

  constructor(
    private readonly pool: ProbeDb & Queryable & { end?: () => Promise<void> },
    opts: MonitorOptions = {},
    private readonly ownsPool = false,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.intervalMsValue = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.longQuerySeconds = opts.longQuerySeconds ?? DEFAULT_LONG_QUERY_SECONDS;
    this.queryChars = opts.queryChars ?? 300;
    this.relations = opts.relations ?? [];
    this.allDatabases = opts.allDatabases ?? false;
    this.host = opts.host;
  }

  /** A monitor with its own pool on `spec` (closed by stop()). */
  static connect(spec: ConnectionSpec, opts: MonitorOptions = {}): Monitor {
    return new Monitor(createMonitorPool(spec), opts, true);
  }

  get intervalMs(): number {
    return this.intervalMsValue;
  }
  set intervalMs(ms: number) {
    this.intervalMsValue = Math.max(100, ms);
  }

  get latest(): MonitorSample | undefined {
    return this.latestSample;
  }

  subscribe(listener: SampleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Poll failures (lost connection...). The loop keeps going and retries at the next interval. */
  onError(listener: ErrorListener): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** One poll of every probe. Rejects only when the database cannot be reached. */
  poll(): Promise<MonitorSample> {
    // Never two polls at once: a caller during a poll gets that poll's sample.
    this.inFlight ??= this.pollOnce()
      .then((sample) => (this.latestSample = sample))
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Polls every interval until stop(); the first poll after `firstDelayMs` (0 = now). */
  start(firstDelayMs = 0): void {
    if (this.loop || this.stopped) return;
    const ac = new AbortController();
    this.abort = ac;
    this.loop = (async () => {
      if (firstDelayMs > 0) await this.clock.sleep(firstDelayMs, ac.signal).catch(() => undefined);
      while (!ac.signal.aborted) {
        const started = this.clock.now();
        try {
          const sample = await this.poll();
          if (ac.signal.aborted) break;
          for (const l of this.listeners) isolated(() => l(sample));
        } catch (err) {
          if (ac.signal.aborted) break;
          for (const l of this.errorListeners) isolated(() => l(err));
        }
        const wait = Math.max(0, this.intervalMsValue - (this.clock.now() - started));
        try {
          await this.clock.sleep(wait, ac.signal);
        } catch {
          break;
        }
      }
    })();
  }

  /** Stops polling, waits for a poll in flight, and closes the pool when the monitor owns it. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort?.abort();
    await this.loop;
    await this.inFlight?.catch(() => undefined);
    if (this.ownsPool) await this.pool.end?.();
  }

  /** Cancels one of OUR statements over the monitor's own pool (see cancelOwnStatement). */
  cancelOwn(pid: number): Promise<CancelResult> {
    return cancelOwnStatement(this.pool, pid);
  }

  private async init(): Promise<ProbeRunner> {
    if (this.probes) return this.probes;
    const r = await this.pool.query<{ n: string; u: string; st: string }>(sqlText('monitor/sql', 'server-facts'));
    this.serverVersionNum = Number(r.rows[0]!.n);
    this.probes = new ProbeRunner(this.pool, this.serverVersionNum, r.rows[0]!.u, r.rows[0]!.st);
    return this.probes;
  }

  private async pollOnce(): Promise<MonitorSample> {
    const t0 = performance.now();
    const probes = await this.init();
    probes.nextPoll();
    const r = await this.runProbes(probes);
    const { activity, notes } = r;
    const sessions = activity?.sessions ?? [];
    const hiddenSessions = activity?.counts?.hidden ?? sessions.filter(isHidden).length;
    if (hiddenSessions > 0) {
      notes.push(
        `${hiddenSessions} session${hiddenSessions > 1 ? 's' : ''} of other roles hidden: grant pg_read_all_stats (or pg_monitor) to this role to see their queries and locks.`,
      );
    }
    const replication = this.replicationOf(r.repl, notes);
    const at = this.clock.now();
    const locks = activity ? buildLockSessions(sessions, r.lockRows, activity.now_epoch) : [];
    if (this.relations.length) this.workload ??= new WorkloadWatch(this.pool, this.relations);
    const [workload, host] = await Promise.all([this.workload?.poll(this.serverVersionNum, at), this.hostSample()]);
    return {
      at,
      pollMs: performance.now() - t0,
      serverVersionNum: this.serverVersionNum,
      locks,
      recentLockWaits: activity ? this.recentWaits.observe(locks, at) : [],
      longQueries: activity ? selectLongQueries(sessions, this.longQuerySeconds) : [],
      ...replication,
      connectionsByState: activity?.counts ?? {},
      indexBuilds: indexBuildsOf(r.indexRows, r.sizeRows),
      notes,
      unavailable: r.unavailable.map((n) => PROBE_KEY[n] ?? n),
      maxConnections: activity?.max_connections ?? null,
      relationSizes: relationSizesOf(r.sizeRows),
      longQuerySeconds: this.longQuerySeconds,
      hiddenSessions,
      allDatabases: this.allDatabases,
      ...(workload ? { workload } : {}),
      ...(host ? { host } : {}),
    };
  }

  private async hostSample(): Promise<HostSample | undefined> {
    const h = this.host;
    if (!h) return undefined;
    const r = await h
      .read()
      .catch((err: Error) => ({ ok: false as const, note: `host figures unavailable from ${h.source}: ${err?.name ?? 'error'}` }));
    return r.ok ? { source: h.source, figures: r.figures } : { source: h.source, figures: null, note: r.note };
  }

  /** Every probe of one poll; failed probes become notes (and names in `unavailable`). */
  private async runProbes(probes: ProbeRunner): Promise<PolledRows> {
    const notes: string[] = [];
    const unavailable: string[] = [];
    const take = <R>(name: string, res: ProbeResult<R>): R[] | undefined => {
      if (res.ok) return res.rows;
      notes.push(res.note);
      unavailable.push(name);
      return undefined;
    };
    const [actRes, idxRes, replRes] = await Promise.all([
      probes.run<ActivityResult>('activity', [this.queryChars, MONITOR_APP, this.allDatabases]),
      probes.run<IndexRow>('index_progress', [this.allDatabases]),
      probes.run<ReplicationRow>('replication'),
    ]);
    const activity = take('activity', actRes)?.[0];
    const indexRows = take('index_progress', idxRes) ?? [];
    const repl = take('replication', replRes)?.[0];
    // Second round, only when needed: lock detail for waiters, sizes for watched relations and builds.
    const waiterPids = (activity?.sessions ?? []).filter((s) => s.blockedBy && s.blockedBy.length > 0).map((s) => s.pid);
    const indexOids = indexRows.map((r) => r.index_oid).filter((o): o is string => o !== null);
    const [lockRes, sizeRes] = await Promise.all([
      waiterPids.length ? probes.run<LockRow>('locks', [waiterPids]) : undefined,
      this.relations.length || indexOids.length ? probes.run<SizeRow>('sizes', [this.relations, indexOids]) : undefined,
    ]);
    const lockRows = (lockRes && take('locks', lockRes)) ?? [];
    const sizeRows = (sizeRes && take('sizes', sizeRes)) ?? [];
    return { activity, indexRows, repl, lockRows, sizeRows, notes, unavailable };
  }

  /** Role, WAL rate (against the previous poll), standbys, slots and recovery progress. */
  private replicationOf(repl: ReplicationRow | undefined, notes: string[]): ReplicationPart {
    const role: 'primary' | 'standby' | undefined = repl ? (repl.in_recovery ? 'standby' : 'primary') : undefined;
    let walBytesPerSecond: number | null = null;
    if (repl?.lsn && role) {
      const lsn = lsnToNumber(repl.lsn);
      const prev = this.prevWal;
      if (prev && prev.role === role && repl.server_time > prev.t && lsn >= prev.lsn) {
        walBytesPerSecond = (lsn - prev.lsn) / (repl.server_time - prev.t);
      }
      this.prevWal = { lsn, t: repl.server_time, role };
    }
    const standbys: StandbyLag[] = (repl?.standbys ?? []).map((s) => ({
      name: s.name || `pid ${s.pid}`,
      clientAddr: s.clientAddr,
      state: s.state ?? 'hidden',
      lagBytes: s.lagBytes,
      replayLagSeconds: s.replayLag,
      slot: s.slot,
      syncState: s.syncState,
    }));
    if (standbys.some((s) => s.state === 'hidden')) {
      notes.push('standby details hidden: grant pg_monitor (or pg_read_all_stats) to this role to see replication lag.');
    }
    return {
      role,
      walBytesPerSecond,
      standbys,
      walLsn: repl?.lsn ?? null,
      slots: (repl?.slots ?? []).map((s) => ({ ...s })),
      recovery:
        role === 'standby'
          ? {
              receiveLsn: repl!.receive_lsn,
              replayLsn: repl!.lsn,
              replayGapBytes: repl!.replay_gap_bytes,
              lastReplaySeconds: repl!.last_replay_seconds,
            }
          : null,
    };
  }
}

interface PolledRows {
  activity: ActivityResult | undefined;
  indexRows: IndexRow[];
  repl: ReplicationRow | undefined;
  lockRows: LockRow[];
  sizeRows: SizeRow[];
  notes: string[];
  unavailable: string[];
}

type ReplicationPart = Pick<MonitorSample, 'role' | 'walBytesPerSecond' | 'standbys' | 'walLsn' | 'slots' | 'recovery'>;

function relationSizesOf(sizeRows: SizeRow[]): RelationSize[] {
  return sizeRows
    .filter((s) => s.kind === 'watch')
    .map((s) => ({
      relation: s.name,
      bytes: s.bytes,
      ...(s.present ? (s.ael ? { skipped: `ACCESS EXCLUSIVE lock ${s.ael} on it` } : {}) : { skipped: 'no such relation' }),
    }));
}

function indexBuildsOf(indexRows: IndexRow[], sizeRows: SizeRow[]): IndexBuild[] {
  const sizeByOid = new Map(sizeRows.filter((s) => s.kind === 'index').map((s) => [String(s.oid), s]));
  return indexRows.map((r) => {
    const size = r.index_oid !== null ? sizeByOid.get(String(r.index_oid)) : undefined;
    return {
      pid: r.pid,
      relation: r.relation ?? '?',
      index: r.index ?? '(not created yet)',
      command: r.command,
      database: r.database,
      phase: r.phase ?? 'unknown',
      blocksDone: num(r.blocks_done),
      blocksTotal: num(r.blocks_total),
      tuplesDone: num(r.tuples_done),
      tuplesTotal: num(r.tuples_total),
      lockersDone: num(r.lockers_done),
      lockersTotal: num(r.lockers_total),
      currentLockerPid: r.current_locker_pid,
      indexBytes: size ? size.bytes : null,
    };
  });
}

/** Probe name -> the sample field it feeds (for `sample.unavailable`). */
const PROBE_KEY: Record<string, string> = {
  activity: 'sessions',
  locks: 'lockDetail',
  index_progress: 'indexBuilds',
  replication: 'replication',
  sizes: 'relationSizes',
};
