// Runs the query of a `check` or `wait` in a READ ONLY transaction that is always rolled back, with
// the step's lock_timeout and a statement_timeout (1 minute when the runbook sets none), so a check
// can neither change data nor hang on a lock. Cancels on the step's abort signal.
import { AbortedError, RunbookError } from '../../util/runbook-error.js';
import { toRunbookError } from '../../pg/executor.js';
import type { StepContext } from '../../engine/step-kind.js';

export const DEFAULT_CHECK_STATEMENT_TIMEOUT_MS = 60_000;
const READ_ONLY_SQL_TRANSACTION = '25006';

export async function readOnlyQuery(ctx: StepContext, sql: string): Promise<Record<string, unknown>[]> {
  if (ctx.signal.aborted) throw new AbortedError();
  const { lockTimeoutMs, statementTimeoutMs } = ctx.step.settings;
  const stmtTimeout = statementTimeoutMs > 0 ? statementTimeoutMs : DEFAULT_CHECK_STATEMENT_TIMEOUT_MS;
  const client = await ctx.pool.connect();
  let broken = false;
  const cancel = () => {
    const pid = (client as unknown as { processID?: number }).processID;
    if (pid) ctx.pool.query('select pg_cancel_backend($1)', [pid]).catch(() => {});
  };
  ctx.signal.addEventListener('abort', cancel, { once: true });
  const t0 = ctx.clock.now();
  try {
    await client.query(
      `BEGIN READ ONLY; SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}; SET LOCAL statement_timeout = ${Math.round(stmtTimeout)}`,
    );
    const r = await client.query(sql);
    const result = Array.isArray(r) ? r[r.length - 1]! : r;
    ctx.emit({
      type: 'step.sql',
      stepId: ctx.step.id,
      sql,
      durationMs: ctx.clock.now() - t0,
      rowCount: result.rowCount ?? result.rows.length,
      ok: true,
    });
    return result.rows;
  } catch (err: any) {
    ctx.emit({
      type: 'step.sql',
      stepId: ctx.step.id,
      sql,
      durationMs: ctx.clock.now() - t0,
      rowCount: null,
      ok: false,
      error: err?.message,
      sqlstate: err?.code,
    });
    if (ctx.signal.aborted) throw new AbortedError();
    if (err?.code === READ_ONLY_SQL_TRANSACTION) {
      throw new RunbookError(`the query tried to write: ${err.message}`, {
        sqlstate: err.code,
        hint: 'a check or wait query runs read-only; change data in a `sql` step instead',
      });
    }
    throw toRunbookError(err, { statementTimeoutMs: stmtTimeout });
  } finally {
    ctx.signal.removeEventListener('abort', cancel);
    await client.query('ROLLBACK').catch(() => (broken = true));
    client.release(broken ? true : undefined);
  }
}
