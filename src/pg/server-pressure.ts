// How hard the server is writing: WAL bytes (the write position, pg_current_wal_lsn) and full-page images (pg_stat_wal), checkpoints requested against timed and
// the buffers they wrote (pg_stat_bgwriter, pg_stat_checkpointer from 17), and whether autovacuum
// is working on the table right now; from 16, what client backends wrote, fsynced and evicted themselves
// (pg_stat_io). Two readings give a window: rates and counts since the first.
import type { Queryable } from './queryable.js';
import { sqlText } from './sql-files.js';

/** Client backends' own relation I/O (pg_stat_io): buffers written, fsyncs, evictions. */
export interface BackendIo {
  writes: number;
  fsyncs: number;
  evictions: number;
}

/** Why there are no backend I/O figures before PostgreSQL 16. */
export const BACKEND_IO_ABSENT = 'pg_stat_io needs PostgreSQL 16 or later';

export interface ServerPressureSample {
  at: number;
  walBytes: number;
  fullPageImages: number;
  checkpointsTimed: number;
  checkpointsRequested: number;
  buffersWritten: number;
  /** pg_stat_progress_vacuum's phase for the table, or null when no (visible) vacuum runs on it. */
  autovacuumPhase: string | null;
  maxWalSize: string;
  /** null before PostgreSQL 16 (no pg_stat_io). */
  backendIo?: BackendIo | null;
}

export type ServerPressureReading = ({ ok: true } & ServerPressureSample) | { ok: false; note: string; sqlstate?: string };

export interface ServerPressureWindow {
  seconds: number;
  walBytesPerSec: number;
  fullPageImages: number;
  checkpointsRequested: number;
  checkpointsTimed: number;
  buffersWritten: number;
  autovacuumPhase: string | null;
  maxWalSize: string;
}

export async function readServerPressure(
  db: Queryable,
  serverVersionNum: number,
  table: string | null,
  now: number,
): Promise<ServerPressureReading> {
  try {
    const r = (await db.query(sqlText('pg/sql', 'server-pressure', serverVersionNum), [table])).rows[0];
    return {
      ok: true,
      at: now,
      walBytes: Number(r.wal_bytes),
      fullPageImages: Number(r.wal_fpi),
      checkpointsTimed: Number(r.checkpoints_timed),
      checkpointsRequested: Number(r.checkpoints_requested),
      buffersWritten: Number(r.buffers_written),
      autovacuumPhase: r.autovacuum_phase ?? null,
      maxWalSize: r.max_wal_size,
      backendIo:
        r.backend_writes === null
          ? null
          : { writes: Number(r.backend_writes), fsyncs: Number(r.backend_fsyncs), evictions: Number(r.backend_evictions) },
    };
  } catch (err: any) {
    const fix =
      err?.code === '42501'
        ? 'grant this role SELECT on the view named, or run as a role that has it'
        : err?.code === '42P01'
          ? 'pg_stat_wal needs PostgreSQL 14 or later'
          : 'check that this role can read pg_stat_wal and pg_stat_bgwriter (pg_stat_checkpointer on 17+)';
    return {
      ok: false,
      note: `WAL and checkpoints are not watched: ${err?.message ?? err} (${fix})`,
      sqlstate: err?.code,
    };
  }
}

/** The window between two samples; null when the counters went backwards (a stats reset) or no time passed. */
export function pressureWindow(prev: ServerPressureSample, cur: ServerPressureSample): ServerPressureWindow | null {
  const seconds = (cur.at - prev.at) / 1000;
  const wal = cur.walBytes - prev.walBytes;
  const req = cur.checkpointsRequested - prev.checkpointsRequested;
  const timed = cur.checkpointsTimed - prev.checkpointsTimed;
  if (seconds <= 0 || wal < 0 || req < 0 || timed < 0) return null;
  return {
    seconds,
    walBytesPerSec: wal / seconds,
    fullPageImages: Math.max(0, cur.fullPageImages - prev.fullPageImages),
    checkpointsRequested: req,
    checkpointsTimed: timed,
    buffersWritten: Math.max(0, cur.buffersWritten - prev.buffersWritten),
    autovacuumPhase: cur.autovacuumPhase,
    maxWalSize: cur.maxWalSize,
  };
}

/** Backend I/O between two readings; after a stats reset (a counter went down) it counts from the reset. */
export function backendIoSince(prev: BackendIo | null | undefined, cur: BackendIo | null | undefined): BackendIo | null {
  if (!cur) return null;
  const reset = !prev || cur.writes < prev.writes || cur.fsyncs < prev.fsyncs || cur.evictions < prev.evictions;
  const d = (k: keyof BackendIo) => (reset ? cur[k] : cur[k] - prev[k]);
  return { writes: d('writes'), fsyncs: d('fsyncs'), evictions: d('evictions') };
}
