// `pgrunbook approve RUN_ID [STEP]` and `pgrunbook reject RUN_ID [STEP] --reason TEXT`: a second
// person, from any machine that reaches the database, sees the evidence the operator saw and decides.
// The decision commits with a NOTIFY that wakes the waiting run; nothing is recorded unless it commits.
import { hostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type pg from 'pg';
import { pendingApprovals, recordDecision, type PendingApproval } from '../../engine/approval-store.js';
import { approverText, sameApprover, type Approver } from '../../engine/gates.js';
import { currentIdentity } from '../../engine/operator-identity.js';
import { describeTarget } from '../../pg/connection.js';
import { redact } from '../../util/secrets.js';
import { InputError, RunbookError } from '../../util/runbook-error.js';
import { withDb } from '../options.js';
import { withStateClient } from '../state-client.js';
import { connectionOrExit } from './run-command.js';

interface DecideOptions {
  db?: string;
  reason?: string;
  yes?: boolean;
}

export function register(program: Command): void {
  withDb(
    program
      .command('approve')
      .description('approve a gate that waits for a second person (shows the evidence first)')
      .argument('<run-id>', 'the waiting run (see `pgrunbook status`)')
      .argument('[step]', 'the step, when more than one gate of the run waits')
      .option('--reason <text>', 'a note kept with the decision')
      .option('--yes', 'do not ask for confirmation on a terminal'),
  ).action((runId: string, step: string | undefined, o: DecideOptions) => decide(runId, step, true, o));
  withDb(
    program
      .command('reject')
      .description('reject a gate that waits for a second person: the step does not run, the run stops resumable')
      .argument('<run-id>', 'the waiting run (see `pgrunbook status`)')
      .argument('[step]', 'the step, when more than one gate of the run waits')
      .requiredOption('--reason <text>', 'why: shown to the operator and kept in the journal'),
  ).action((runId: string, step: string | undefined, o: DecideOptions) => decide(runId, step, false, o));
}

async function decide(runId: string, step: string | undefined, approved: boolean, o: DecideOptions): Promise<void> {
  const connection = connectionOrExit(o.db);
  const verb = approved ? 'approve' : 'reject';
  await withStateClient(connection, verb, async (client, hasState) => {
    if (!hasState) {
      throw new InputError(
        `no pgrunbook runs are recorded in ${describeTarget(connection.target)}`,
        'pass the --db of the database the run changes',
      );
    }
    await client.query(`SET lock_timeout = '10s'; SET statement_timeout = '30s'`);
    const p = await theRequest(client, runId, step);
    const who = currentIdentity();
    const me: Approver = { user: who.user, host: hostname(), role: await loginRole(client) };
    process.stdout.write(evidenceText(p));
    if (who.claimed) process.stdout.write(untrustedClaim(who.claimed, who.user));
    const operator: Approver = { user: p.operator_user, host: p.operator_host, role: p.operator_role };
    if (sameApprover(operator, me)) {
      throw new RunbookError(`you started this run (OS user ${me.user}, role ${me.role}): the operator cannot ${verb} their own gate`, {
        hint: `ask another engineer to run \`pgrunbook ${verb} ${runId} ${p.step_id}\`; a different OS user or database role counts as another person`,
      });
    }
    const mine = p.decisions.find((d) => sameApprover({ user: d.user, host: d.host, role: d.role }, me));
    if (mine) {
      throw new RunbookError(`you already ${mine.approved ? 'approved' : 'rejected'} step ${p.step_id} of run ${runId}`, {
        hint: 'each person decides once; another engineer adds the next approval',
      });
    }
    if (approved && !o.yes && !(await confirmed(p))) {
      process.stdout.write('not approved: nothing recorded\n');
      process.exitCode = 1;
      return;
    }
    const ok = await recordDecision(client, p.request_id, { approved, reason: o.reason, by: { user: me.user, host: me.host } });
    if (!ok) {
      throw new RunbookError(`the gate of step ${p.step_id} closed before your decision was recorded`, {
        hint: `\`pgrunbook status\` shows the run's state now`,
      });
    }
    const missing = p.needed - p.decisions.filter((d) => d.approved).length - 1;
    const next = !approved
      ? 'the step will not run; the run stops and can be resumed'
      : missing > 0
        ? `${missing} more approval(s) needed`
        : 'the run continues';
    process.stdout.write(`${approved ? 'approved' : 'rejected'} step ${p.step_id} of run ${runId} as ${approverText(me)}: ${next}\n`);
  });
}

/** The one open request this command is about, or an error that says what to pass. */
async function theRequest(client: pg.Client, runId: string, step: string | undefined): Promise<PendingApproval> {
  const open = (await pendingApprovals(client, runId)).filter((p) => step === undefined || p.step_id === step);
  if (open.length === 0) {
    throw new RunbookError(`run ${runId} has no gate waiting for approval${step ? ` at step ${step}` : ''}`, {
      hint: '`pgrunbook status` lists the runs waiting for approval and their steps',
    });
  }
  if (open.length > 1) {
    throw new InputError(
      `run ${runId} has ${open.length} gates waiting for approval`,
      `name the step: one of ${open.map((p) => p.step_id).join(', ')}`,
    );
  }
  return open[0]!;
}

async function loginRole(client: pg.Client): Promise<string> {
  return (await client.query<{ r: string }>('SELECT session_user::text AS r')).rows[0]!.r;
}

/** The same evidence the operator saw at the gate. */
function evidenceText(p: PendingApproval): string {
  const r = p.request;
  const lines = [
    `run ${p.run_id}, step ${p.step_id}: ${r.title}`,
    `  ${r.action}${r.lockMode ? ` [takes ${r.lockMode}]` : ''}`,
    `  operator: ${p.operator_user}@${p.operator_host} (role ${p.operator_role}), waiting since ${p.requested_at.toISOString()}`,
    ...r.evidence.map((e) => `  ${e.ok === false ? '!' : '-'} ${e.label}: ${String(e.value)}${e.detail ? ` (${e.detail})` : ''}`),
    `  approvals: ${p.decisions.filter((d) => d.approved).length} of ${p.needed}`,
  ];
  return redact(`${lines.join('\n')}\n`);
}

function untrustedClaim(claimed: string, user: string): string {
  return `SUDO_USER=${claimed} is not trusted (this process does not run as root under sudo): you are OS user ${user}\n`;
}

async function confirmed(p: PendingApproval): Promise<boolean> {
  if (!process.stdin.isTTY) return true;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`Approve step ${p.step_id}? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
