// Samples the monitor produces and the UI panels render. One MonitorSample per poll.
import type { IndexProgress } from '../engine/events.js';
import type { HostFigures } from '../engine/ports.js';

export interface LockSession {
  pid: number;
  /** pg_blocking_pids(pid): hard and soft blockers. */
  blockedBy: number[];
  state: string | null;
  waitEvent: string | null;
  /** The lock it waits for, when waiting on a relation lock. */
  waitingMode: string | null;
  relation: string | null;
  /** Seconds since pg_locks.waitstart (PG 14+), null when not waiting. */
  waitingSeconds: number | null;
  xactAgeSeconds: number | null;
  query: string;
  applicationName: string;
  user: string | null;
  /** One of our own (pgrunbook) sessions. */
  ours: boolean;
  /** How many sessions wait (directly or transitively) behind this one. */
  queuedBehind: number;
  /** Longest wait (seconds) among the sessions queued behind this one; null when none. */
  queuedLongestSeconds?: number | null;
  /** Blockers in `blockedBy` that only stand ahead in the lock queue (soft blocks); the rest hold a conflicting lock. */
  softBlockedBy?: number[];
  /** pg_locks.locktype of the lock waited for (relation, transactionid, tuple, advisory...). */
  waitingLockType?: string | null;
  database?: string | null;
}

export interface LongQuery {
  pid: number;
  state: string;
  durationSeconds: number;
  xactAgeSeconds: number | null;
  waitEvent: string | null;
  query: string;
  applicationName: string;
  user: string | null;
  ours: boolean;
  database?: string | null;
  backendType?: string;
}

export interface StandbyLag {
  name: string;
  clientAddr: string | null;
  state: string;
  lagBytes: number | null;
  /** replay_lag in seconds; null when idle (PostgreSQL reports NULL then). */
  replayLagSeconds: number | null;
  slot?: string | null;
  syncState?: string | null;
}

export interface ReplicationSlot {
  name: string;
  type: string;
  active: boolean;
  /** pg_replication_slots.wal_status (reserved, extended, unreserved, lost). */
  walStatus: string | null;
  /** WAL the slot holds back, in bytes (current position minus restart_lsn). */
  retainedBytes: number | null;
  database: string | null;
}

/** Present when the monitored server is a standby (in recovery). */
export interface RecoveryStatus {
  receiveLsn: string | null;
  replayLsn: string | null;
  /** Received but not yet replayed, in bytes. */
  replayGapBytes: number | null;
  /** Seconds since the last replayed transaction committed on the primary (grows when the primary is idle). */
  lastReplaySeconds: number | null;
}

export interface RelationSize {
  relation: string;
  /** pg_total_relation_size; null when skipped. */
  bytes: number | null;
  /** Why it was skipped (an ACCESS EXCLUSIVE lock granted or pending on it, or it does not exist). */
  skipped?: string;
}

export type IndexBuild = IndexProgress & {
  pid: number;
  relation: string;
  /** CREATE INDEX, CREATE INDEX CONCURRENTLY, REINDEX, REINDEX CONCURRENTLY. */
  command?: string;
  database?: string | null;
  /** Size of the index so far; null when skipped (ACCESS EXCLUSIVE granted or pending) or not created yet. */
  indexBytes?: number | null;
};

/** A lock wait seen by an earlier poll that has ended since (it got its lock, timed out or was cancelled). */
export interface RecentLockWait {
  pid: number;
  relation: string | null;
  mode: string | null;
  lockType: string | null;
  /** The longest wait time any poll saw. */
  seconds: number;
  /** When a poll first found it gone (ms, the monitor's clock). */
  endedAt: number;
  ours: boolean;
  applicationName: string;
}

export interface MonitorSample {
  at: number;
  /** Time one poll of all probes took, in ms. */
  pollMs: number;
  serverVersionNum: number;
  /** Sessions involved in blocking (blockers and waiters), for the lock tree. */
  locks: LockSession[];
  longQueries: LongQuery[];
  standbys: StandbyLag[];
  /** Bytes per second, from deltas of pg_current_wal_lsn(); null on the first sample. */
  walBytesPerSecond: number | null;
  connectionsByState: Record<string, number>;
  indexBuilds: IndexBuild[];
  /** Probes switched off (missing privileges, timeouts) with the reason. */
  notes: string[];
  /** 'standby' when the server is in recovery (WAL figures then come from pg_last_wal_replay_lsn()). */
  role?: 'primary' | 'standby';
  /** Current WAL position (pg_current_wal_lsn() on a primary, replay position on a standby). */
  walLsn?: string | null;
  slots?: ReplicationSlot[];
  recovery?: RecoveryStatus | null;
  maxConnections?: number | null;
  /** Sizes of the relations the monitor was asked to watch. */
  relationSizes?: RelationSize[];
  /** The long-query threshold in force, in seconds. */
  longQuerySeconds?: number;
  /** Parts missing from this sample because their probe is off or failed: sessions, lockDetail, indexBuilds, replication, relationSizes. */
  unavailable?: string[];
  /** true: sessions and index builds of every database; false: the connected one only (connection counts are always server-wide). */
  allDatabases?: boolean;
  /** Sessions of other roles whose details this role may not see (no pg_read_all_stats). */
  hiddenSessions?: number;
  /** Lock waits that ended within the last minute, newest first. */
  recentLockWaits?: RecentLockWait[];
  /** The application's statements and lock waits on the watched relations; absent without relations. */
  workload?: WorkloadSample;
  /** The database host's figures (--node-exporter / --prometheus); absent without an endpoint. */
  host?: HostSample;
}

/** The host line: figures (null until a second scrape), or the note of an endpoint that failed. */
export interface HostSample {
  source: string;
  figures: HostFigures | null;
  note?: string;
}

/** One of the application's statements on the touched tables, over the last poll. */
export interface WorkloadStatement {
  query: string;
  calls: number;
  callsPerSec: number | null;
  meanMs: number;
  /** Its mean as recorded before the monitor started (the run's baseline); null for a new statement. */
  baselineMeanMs: number | null;
}

/** What the application feels on the tables the run touches (the Workload panel). */
export interface WorkloadSample {
  tables: string[];
  /** false: pg_stat_statements cannot be read (a note says how to enable it). */
  statementsAvailable: boolean;
  /** Top statements by time spent in the last poll. */
  statements: WorkloadStatement[];
  /** Sessions waiting on a lock on these tables (the table itself or its rows). */
  lockWaits: { pid: number; lockType: string; mode: string; relation: string; waitMs: number; query: string }[];
  /** Checkpoints and buffers they wrote since the monitor started. */
  checkpoints?: { requested: number; timed: number; buffersWritten: number; sinceMs: number };
  /** pg_stat_progress_vacuum's phase on the first table, or null. */
  vacuumPhase?: string | null;
  /** Client backends' own writes, fsyncs and evictions since the monitor started (pg_stat_io); null before PostgreSQL 16. */
  backendIo?: { writes: number; fsyncs: number; evictions: number } | null;
  notes: string[];
}
