// Polls pg_stat_progress_create_index for one index build and emits step.progress events.
// Runs on the pool (a different connection from the one building the index); each poll has its
// own short statement_timeout, and a failed poll is skipped, never fatal.
import type { StepContext } from '../../engine/step-kind.js';
import { probing } from '../../pg/probe.js';
import { sqlText } from '../../pg/sql-files.js';

export interface ProgressPoller {
  stop(): Promise<void>;
  /** Number of progress events emitted. */
  readonly emitted: number;
}

export function pollIndexProgress(
  ctx: StepContext,
  opts: { tableOid: number; indexQualified: string; indexName: string; intervalMs?: number },
): ProgressPoller {
  const interval = opts.intervalMs ?? 300;
  let stopped = false;
  let emitted = 0;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> = Promise.resolve();
  const once = async () => {
    try {
      const { rows } = await probing(ctx.pool, { lockTimeoutMs: 200, statementTimeoutMs: 2000 }).query<any>(
        sqlText('pg/sql', 'index-build-progress'),
        [opts.tableOid, opts.indexQualified],
      );
      const r = rows[0];
      if (!r || stopped) return;
      emitted++;
      ctx.emit({
        type: 'step.progress',
        stepId: ctx.step.id,
        progress: {
          kind: 'index',
          index: opts.indexName,
          phase: r.phase,
          blocksDone: Number(r.blocks_done),
          blocksTotal: Number(r.blocks_total),
          tuplesDone: Number(r.tuples_done),
          tuplesTotal: Number(r.tuples_total),
          lockersDone: Number(r.lockers_done),
          lockersTotal: Number(r.lockers_total),
          currentLockerPid: r.current_locker_pid ? Number(r.current_locker_pid) : null,
        },
      });
    } catch {
      // A probe that times out or fails is skipped; the build itself is unaffected.
    }
  };
  const tick = () => {
    if (stopped) return;
    inflight = once().finally(() => {
      if (!stopped) timer = setTimeout(tick, interval);
    });
  };
  timer = setTimeout(tick, Math.min(interval, 100));
  return {
    get emitted() {
      return emitted;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inflight;
    },
  };
}
