// The throttle's database probes. They run on their own connection with a short statement_timeout
// and lock_timeout, so a probe can never hold up a batch or queue behind anything for long. A probe
// the role may not run (42501) is switched off with one warning instead of failing the backfill;
// a probe that times out is simply skipped this round.
import type pg from 'pg';
import type { StandbyLag } from './throttle.js';

import { sqlText } from '../pg/sql-files.js';
import { readStatementStats, type StatementStatsReading } from '../pg/statement-stats.js';
import { readServerPressure, type ServerPressureReading } from '../pg/server-pressure.js';
import { readWalConsumers, type WalConsumers } from '../pg/wal-consumers.js';

const ignoreClientError = () => {};

type ProbeName = 'replication' | 'blocked' | 'sessions';

export class ThrottleProbes {
  private client: pg.PoolClient | undefined;
  private connecting: Promise<pg.PoolClient> | undefined;
  private disabled = new Set<ProbeName>();
  private warnedHiddenLag = false;
  /** Whether the role sees other roles' lock waits (pg_read_all_stats); checked once. */
  private seesAllWaits: Promise<boolean> | undefined;
  private versionNum: number | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly timeoutMs: number,
    private readonly warn: (message: string) => void,
  ) {}

  async replication(): Promise<StandbyLag[] | undefined> {
    const rows = await this.run<{ name: string; hidden: boolean; lag_bytes: number | null; lag_ms: number | null; track_absence: boolean }>(
      'replication',
      sqlText('backfill/sql', 'replication-lag'),
      [],
    );
    const hidden = rows?.filter((r) => r.hidden) ?? [];
    if (hidden.length > 0 && !this.warnedHiddenLag) {
      // pg_stat_replication raises no error here, it shows NULLs: say so once rather than throttle blind.
      this.warnedHiddenLag = true;
      this.warn(
        `throttle cannot see the replication lag of ${hidden.map((r) => r.name).join(', ')}: pg_stat_replication shows positions only to roles with pg_read_all_stats, so that lag does not hold batches (grant pg_monitor to the role to enable it)`,
      );
    }
    return rows?.map((r) => ({ name: r.name, lagBytes: r.lag_bytes, lagMs: r.lag_ms, trackAbsence: r.track_absence }));
  }

  /** Sessions waiting on locks held by backend `pid` (our batch), leaving out our own `ownPids`. */
  async blockedBy(pid: number, ownPids: number[] = []): Promise<{ count: number; maxWaitMs: number } | undefined> {
    this.seesAllWaits ??= this.checkSeesAllWaits();
    await this.seesAllWaits;
    const rows = await this.run<{ blocked: number; max_wait_ms: number }>('blocked', sqlText('backfill/sql', 'blocked-by-backend'), [
      pid,
      ownPids,
    ]);
    const r = rows?.[0];
    return r ? { count: r.blocked, maxWaitMs: r.max_wait_ms } : undefined;
  }

  /** Other client sessions busy now or within the last `withinMs` (busy-sessions.sql); undefined = not read. */
  async busySessions(ownPids: number[], withinMs: number): Promise<number | undefined> {
    const rows = await this.run<{ busy: number }>('sessions', sqlText('backfill/sql', 'busy-sessions'), [ownPids, withinMs]);
    return rows?.[0]?.busy;
  }

  /** pg_stat_statements on the touched tables; undefined when the probe connection is down. */
  async statementStats(tables: string[], now: number): Promise<StatementStatsReading | undefined> {
    let c: pg.PoolClient;
    try {
      c = await this.connection();
      this.versionNum ??= (await c.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v")).rows[0]!.v;
    } catch {
      return undefined;
    }
    return readStatementStats(c, tables, this.versionNum, now);
  }

  /** WAL, checkpoint and vacuum counters; undefined when the probe connection is down. */
  async serverPressure(table: string, now: number): Promise<ServerPressureReading | undefined> {
    let c: pg.PoolClient;
    try {
      c = await this.connection();
      this.versionNum ??= (await c.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v")).rows[0]!.v;
    } catch {
      return undefined;
    }
    return readServerPressure(c, this.versionNum, table, now);
  }

  /** Standbys, replication slots and the archive; undefined when the probe connection is down or the read failed. */
  async walConsumers(): Promise<WalConsumers | undefined> {
    try {
      return await readWalConsumers(await this.connection());
    } catch {
      return undefined;
    }
  }

  /** pg_stat_activity hides other roles' wait events without pg_read_all_stats: say so once, as the monitor does. */
  private async checkSeesAllWaits(): Promise<boolean> {
    let sees = true;
    try {
      const c = await this.connection();
      sees = (await c.query<{ sees: boolean }>("SELECT pg_has_role('pg_read_all_stats', 'USAGE') AS sees")).rows[0]!.sees;
    } catch {
      this.seesAllWaits = undefined; // ask again next round
      return true;
    }
    if (!sees)
      this.warn(
        "throttle blocked_sessions cannot see sessions of other roles waiting on the batch's rows: pg_stat_activity shows their waits only to roles with pg_read_all_stats, so only this role's own sessions slow the backfill down (grant pg_monitor to the role to see them all)",
      );
    return sees;
  }

  async close(): Promise<void> {
    const c = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    this.connecting = undefined;
    if (!c) return;
    c.removeListener('error', ignoreClientError);
    try {
      await c.query('RESET statement_timeout; RESET lock_timeout; RESET application_name');
      c.release();
    } catch {
      c.release(true);
    }
  }

  private async connection(): Promise<pg.PoolClient> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const c = await this.pool.connect();
      c.on('error', ignoreClientError); // reported by the failing query instead
      try {
        const t = Math.max(1, Math.round(this.timeoutMs));
        await c.query(
          `SET statement_timeout = ${t}; SET lock_timeout = ${Math.min(t, 100)}; SET application_name = 'pgrunbook:backfill-probe'`,
        );
      } catch (err) {
        c.removeListener('error', ignoreClientError);
        c.release(true);
        throw err;
      }
      this.client = c;
      return c;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async run<R>(name: ProbeName, sql: string, params: unknown[]): Promise<R[] | undefined> {
    if (this.disabled.has(name)) return undefined;
    let c: pg.PoolClient;
    try {
      c = await this.connection();
    } catch {
      return undefined; // the batch connection reports real outages; probes just skip a round
    }
    try {
      return (await c.query(sql, params)).rows as R[];
    } catch (err: any) {
      if (err?.code === '42501') {
        this.disabled.add(name);
        this.warn(`throttle probe "${name}" switched off: ${err.message} (grant pg_monitor to the role to enable it)`);
      } else if (err?.code !== '57014' && err?.code !== '55P03') {
        // Connection trouble or something unexpected: drop the connection, try afresh next round.
        this.client = undefined;
        c.removeListener('error', ignoreClientError);
        c.release(true);
      }
      return undefined;
    }
  }
}
