import type { Command } from 'commander';
import { pendingApprovals, type PendingApproval } from '../../engine/approval-store.js';
import { findLockHolder } from '../../engine/run-lock.js';
import { listRuns, stepRows } from '../../engine/state-store.js';
import { runStatusText } from '../../report/run-status.js';
import { describeTarget } from '../../pg/connection.js';
import { redactDeep } from '../../util/secrets.js';
import type { Queryable } from '../../pg/queryable.js';
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
      const approvals = await openApprovals(client);
      const rows = [];
      for (const r of runs) {
        const steps = await stepRows(client, r.run_id);
        const holder = r.status === 'running' ? await findLockHolder(client, r.runbook_name) : null;
        // A 'running' row whose lock is not held belongs to a process that died: resumable.
        const live = holder?.runId === r.run_id;
        const waiting = approvals.filter((a) => a.run_id === r.run_id).map(waitingEntry);
        rows.push({
          run_id: r.run_id,
          runbook: r.runbook_name,
          status:
            live && waiting.length
              ? 'waiting for approval'
              : runStatusText(r.status === 'running' && !live ? 'stopped (process gone)' : r.status, steps),
          started_at: r.started_at,
          by: `${r.os_user}@${r.host}`,
          pid: r.pid,
          steps_done: steps.filter((s) => s.status === 'completed' || s.status === 'rolled_back').length,
          steps_total: steps.length,
          current: steps.find((s) => s.status === 'running')?.step_id ?? null,
          lock_holder: holder ? { backend_pid: holder.backendPid, user: holder.user, host: holder.host, pid: holder.pid } : null,
          error: r.error,
          waiting_for_approval: waiting,
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
        for (const w of r.waiting_for_approval) {
          process.stdout.write(
            `    waiting for approval at ${w.step}: ${w.approvals} of ${w.needed}, operator ${w.operator}, since ${w.since}Z: pgrunbook approve ${r.run_id} ${w.step}\n`,
          );
        }
      }
    });
  });
}

/** Open approval requests of every run (none before the first run that created the tables). */
async function openApprovals(client: Queryable): Promise<PendingApproval[]> {
  const has = await client.query<{ ok: boolean }>(`select to_regclass('pgrunbook.approval_requests') is not null as ok`);
  return has.rows[0]!.ok ? pendingApprovals(client, null) : [];
}

function waitingEntry(a: PendingApproval) {
  return {
    step: a.step_id,
    needed: a.needed,
    approvals: a.decisions.filter((d) => d.approved).length,
    operator: `${a.operator_user}@${a.operator_host} (role ${a.operator_role})`,
    since: a.requested_at.toISOString().replace('T', ' ').slice(0, 19),
  };
}
