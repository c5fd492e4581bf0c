import type { Command } from 'commander';
import { findLockHolder } from '../../engine/run-lock.js';
import { listRuns, stepRows } from '../../engine/state-store.js';
import { runStatusText } from '../../report/run-status.js';
import { describeTarget } from '../../pg/connection.js';
import { redactDeep } from '../../util/secrets.js';
import { withDb } from '../options.js';
import { connectionOrExit } from './run-command.js';
import { withStateClient } from '../state-client.js';

export function register(program: Command): void {
  withDb(
    program
      .command('status')
      .description('runs recorded in the target database, and who holds each run lock')
      .option('--json', 'JSON output')
      .option('--limit <n>', 'how many runs', '20'),
  ).action(async (o) => {
    const connection = connectionOrExit(o.db);
    await withStateClient(connection, 'status', async (client, hasState) => {
      if (!hasState) {
        process.stdout.write(o.json ? '[]\n' : `no pgrunbook runs recorded in ${describeTarget(connection.target)}\n`);
        return;
      }
      const runs = await listRuns(client, Number(o.limit) || 20);
      const rows = [];
      for (const r of runs) {
        const steps = await stepRows(client, r.run_id);
        const holder = r.status === 'running' ? await findLockHolder(client, r.runbook_name) : null;
        // A 'running' row whose lock is not held belongs to a process that died: resumable.
        const live = holder?.runId === r.run_id;
        rows.push({
          run_id: r.run_id,
          runbook: r.runbook_name,
          status: runStatusText(r.status === 'running' && !live ? 'stopped (process gone)' : r.status, steps),
          started_at: r.started_at,
          by: `${r.os_user}@${r.host}`,
          pid: r.pid,
          steps_done: steps.filter((s) => s.status === 'completed' || s.status === 'rolled_back').length,
          steps_total: steps.length,
          current: steps.find((s) => s.status === 'running')?.step_id ?? null,
          lock_holder: holder ? { backend_pid: holder.backendPid, user: holder.user, host: holder.host, pid: holder.pid } : null,
          error: r.error,
        });
      }
      if (o.json) {
        process.stdout.write(JSON.stringify(redactDeep(rows), null, 2) + '\n');
        return;
      }
      for (const r of rows) {
        const when = new Date(r.started_at).toISOString().replace('T', ' ').slice(0, 19);
        process.stdout.write(
          `${r.run_id}  ${r.runbook}  ${r.status}  started ${when}Z by ${r.by} (pid ${r.pid})  steps ${r.steps_done}/${r.steps_total}` +
            `${r.current ? `  at ${r.current}` : ''}${r.lock_holder ? `  lock held by backend ${r.lock_holder.backend_pid}` : ''}${r.error ? `\n    ${r.error}` : ''}\n`,
        );
      }
    });
  });
}
