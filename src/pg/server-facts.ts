// Server facts for `plan`: version, standbys and their lag, replication slots, long transactions
// and the settings that matter for a risky change. A probe the role may not run is listed in
// `unavailable` with the reason instead of failing the plan.
import type pg from 'pg';
import type { Queryable } from './queryable.js';
import { sqlText } from './sql-files.js';

export interface ServerFacts {
  version: string;
  versionNum: number;
  timeZone: string;
  inRecovery: boolean;
  standbys: {
    name: string;
    clientAddr: string | null;
    state: string | null;
    syncState: string | null;
    lagBytes: number | null;
    replayLagSeconds: number | null;
  }[];
  slots: { name: string; type: string; active: boolean; retainedBytes: number | null; walStatus: string | null }[];
  longTransactions: {
    pid: number;
    user: string | null;
    application: string | null;
    state: string | null;
    xactSeconds: number;
    query: string;
  }[];
  settings: { name: string; setting: string; unit: string | null }[];
  /** Probes that could not run (privileges...), with the reason. */
  unavailable: string[];
}

const PLAN_SETTINGS = [
  'lock_timeout',
  'statement_timeout',
  'idle_in_transaction_session_timeout',
  'deadlock_timeout',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'max_wal_size',
  'checkpoint_timeout',
  'wal_level',
  'synchronous_commit',
  'synchronous_standby_names',
  'hot_standby_feedback',
  'autovacuum',
  'max_locks_per_transaction',
  'shared_buffers',
];

const nullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function serverFacts(db: Queryable, opts: { longTxSeconds?: number } = {}): Promise<ServerFacts> {
  const unavailable: string[] = [];
  const base = (await db.query(sqlText('pg/sql', 'server-basics'))).rows[0];
  const tryQuery = async <R extends pg.QueryResultRow>(what: string, file: string, params: unknown[] = []): Promise<R[]> => {
    try {
      return (await db.query<R>(sqlText('pg/sql', file), params)).rows;
    } catch (err) {
      unavailable.push(`${what}: ${(err as Error).message}`);
      return [];
    }
  };
  const standbys = base.rec ? [] : await tryQuery<any>('standbys (pg_stat_replication)', 'standbys');
  const slots = await tryQuery<any>('replication slots', 'replication-slots');
  const long = await tryQuery<any>('long-running transactions', 'long-transactions', [opts.longTxSeconds ?? 60]);
  const settings = await tryQuery<any>('settings', 'settings', [PLAN_SETTINGS]);
  return {
    version: base.v,
    versionNum: Number(base.n),
    timeZone: base.tz,
    inRecovery: base.rec,
    standbys: standbys.map((s) => ({
      name: s.name,
      clientAddr: s.addr,
      state: s.state,
      syncState: s.sync_state,
      lagBytes: nullableNumber(s.lag_bytes),
      replayLagSeconds: nullableNumber(s.replay_lag),
    })),
    slots: slots.map((s) => ({
      name: s.name,
      type: s.type,
      active: s.active,
      retainedBytes: nullableNumber(s.retained),
      walStatus: s.wal_status ?? null,
    })),
    longTransactions: long.map((l) => ({
      pid: l.pid,
      user: l.usr,
      application: l.app,
      state: l.state,
      xactSeconds: Number(l.secs),
      query: l.query,
    })),
    settings: settings.map((s) => ({ name: s.name, setting: s.setting, unit: s.unit })),
    unavailable,
  };
}
