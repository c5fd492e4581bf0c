// The Workload panel's figures: the application's top statements on the touched tables
// (pg_stat_statements: mean latency in the last poll against the mean recorded before the run,
// calls/s), the sessions waiting on locks on those tables, and the server's WAL and checkpoint
// pressure since the watch began, with client backends' own writes, fsyncs and evictions (pg_stat_io,
// 16+). A missing extension or privilege becomes one note, not an error.
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';
import { readStatementStats, type StatementStat } from '../pg/statement-stats.js';
import { backendIoSince, readServerPressure, type ServerPressureSample } from '../pg/server-pressure.js';
import type { WorkloadSample, WorkloadStatement } from './monitor-types.js';

const TOP = 5;

export class WorkloadWatch {
  private baseline = new Map<string, StatementStat>();
  private last: { at: number; stats: Map<string, StatementStat> } | undefined;
  private firstPressure: ServerPressureSample | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly tables: string[],
  ) {}

  async poll(serverVersionNum: number, now: number): Promise<WorkloadSample> {
    const [stmts, waits, pressure] = await Promise.all([
      readStatementStats(this.db, this.tables, serverVersionNum, now),
      this.lockWaits(),
      readServerPressure(this.db, serverVersionNum, this.tables[0] ?? null, now),
    ]);
    const notes: string[] = [];
    let statements: WorkloadStatement[] = [];
    if (stmts.ok) {
      statements = this.statementsOf(stmts.stats, now);
      if (stmts.note) notes.push(stmts.note);
    } else notes.push(`pg_stat_statements unreadable: ${stmts.note.split('); ').pop()}`);
    if (!waits.ok) notes.push(waits.note);
    if (!pressure.ok) notes.push(pressure.note);
    else this.firstPressure ??= pressure;
    const first = this.firstPressure;
    return {
      tables: this.tables,
      statementsAvailable: stmts.ok,
      statements,
      lockWaits: waits.ok ? waits.rows : [],
      ...(pressure.ok && first
        ? {
            checkpoints: {
              requested: pressure.checkpointsRequested - first.checkpointsRequested,
              timed: pressure.checkpointsTimed - first.checkpointsTimed,
              buffersWritten: pressure.buffersWritten - first.buffersWritten,
              sinceMs: now - first.at,
            },
            vacuumPhase: pressure.autovacuumPhase,
            backendIo: backendIoSince(first.backendIo, pressure.backendIo),
          }
        : {}),
      notes,
    };
  }

  /** Per statement: the window since the last poll against the mean recorded before the first. */
  private statementsOf(stats: StatementStat[], now: number): WorkloadStatement[] {
    const byId = new Map(stats.map((s) => [s.queryid, s]));
    if (!this.last) for (const s of stats) this.baseline.set(s.queryid, s);
    const prev = this.last;
    this.last = { at: now, stats: byId };
    if (!prev) return [];
    const seconds = (now - prev.at) / 1000;
    const rows: (WorkloadStatement & { windowMs: number })[] = [];
    for (const s of stats) {
      const p = prev.stats.get(s.queryid);
      const reset = !p || s.calls < p.calls;
      const calls = reset ? s.calls : s.calls - p.calls;
      if (calls <= 0) continue;
      const windowMs = reset ? s.totalMs : s.totalMs - p.totalMs;
      const b = this.baseline.get(s.queryid);
      rows.push({
        query: s.query,
        calls,
        callsPerSec: seconds > 0 ? calls / seconds : null,
        meanMs: windowMs / calls,
        baselineMeanMs: b && b.calls > 0 ? b.totalMs / b.calls : null,
        windowMs,
      });
    }
    rows.sort((a, b) => b.windowMs - a.windowMs);
    return rows.slice(0, TOP).map(({ windowMs: _, ...r }) => r);
  }

  private async lockWaits(): Promise<{ ok: true; rows: WorkloadSample['lockWaits'] } | { ok: false; note: string }> {
    try {
      const r = await this.db.query(sqlText('monitor/sql', 'workload-lock-waits'), [this.tables]);
      return {
        ok: true,
        rows: r.rows.map((x: any) => ({
          pid: x.pid,
          lockType: x.locktype,
          mode: x.mode,
          relation: x.rel,
          waitMs: x.wait_ms,
          query: x.query,
        })),
      };
    } catch (err: any) {
      return { ok: false, note: `lock waits on ${this.tables.join(', ')} not shown: ${err?.message ?? err}` };
    }
  }
}
