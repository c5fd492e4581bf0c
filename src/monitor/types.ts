// Samples the monitor produces and the UI panels render. One MonitorSample per poll.
import type { IndexProgress } from '../engine/events.js';

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
}

export interface StandbyLag {
  name: string;
  clientAddr: string | null;
  state: string;
  lagBytes: number | null;
  /** replay_lag in seconds; null when idle (PostgreSQL reports NULL then). */
  replayLagSeconds: number | null;
  slot?: string | null;
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
  indexBuilds: (IndexProgress & { pid: number; relation: string })[];
  /** Probes switched off (missing privileges, timeouts) with the reason. */
  notes: string[];
}
