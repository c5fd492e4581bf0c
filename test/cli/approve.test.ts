// Second-person approval through the real binary: the run waits after the operator's --yes; another
// identity (a different database role) approves or rejects from its own process. The operator
// cannot approve their own gate, a killed approver changes nothing, and the NOTIFY wakes the run.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { APPROVAL_POLL_MS } from '../../src/engine/approval-gates.js';
import { BIN, type CliProcess, ROOT, runCli, startCli } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-approve-'));
const role = `approver_${randomBytes(4).toString('hex')}`;

function runbook(name: string, extra = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `version: 1
name: ${name}
settings:
  lock_timeout: 1s${extra}
phases:
  deploy:
    - id: mark
      sql: insert into effects (step) values ('${name}')
      rollback: delete from effects where step = '${name}'
      gate: { type: confirm, approvers: 1 }
`,
  );
  return file;
}

describe('pgrunbook approve / reject', () => {
  const db = useTestDatabase();
  let approverUrl = '';
  const journalDir = mkdtempSync(join(tmpdir(), 'pgrunbook-journal-'));

  beforeAll(async () => {
    await db.query('create table effects (id serial primary key, step text not null)');
    await db.query(`create role ${role} login`);
    const u = new URL(db.url);
    u.username = role;
    approverUrl = u.toString();
  });

  /** Starts a run that waits for approval; the approver role gets the grants docs/privileges.md lists. */
  async function waitingRun(name: string, args: string[] = []): Promise<{ run: CliProcess; runId: string }> {
    const run = startCli(['run', runbook(name), '--db', db.url, '--plain', '--yes', '--journal-dir', journalDir, ...args]);
    await run.waitFor(/mark: waiting for approval/, 60_000);
    const runId = /run (\S+) started/.exec(run.stdout())![1]!;
    await db.query(`grant usage on schema pgrunbook to ${role}`);
    await db.query(`grant select on all tables in schema pgrunbook to ${role}`);
    await db.query(`grant insert on pgrunbook.approval_decisions to ${role}`);
    await db.query(`grant usage on all sequences in schema pgrunbook to ${role}`);
    return { run, runId };
  }

  async function effects(name: string): Promise<number> {
    return (await db.query('select count(*)::int n from effects where step = $1', [name]))[0].n;
  }

  it('waits after --yes, refuses the operator, and wakes at once on another role’s approval', async () => {
    const { run, runId } = await waitingRun('approve-ok');
    expect(run.stdout()).toMatch(new RegExp(`pgrunbook approve ${runId} mark`));
    expect(run.stdout()).toMatch(/operator: \S+@\S+ \(role postgres\) cannot approve their own gate/);
    expect(await effects('approve-ok')).toBe(0);

    const status = await runCli(['status', '--db', db.url]);
    expect(status.stdout).toMatch(new RegExp(`${runId}  approve-ok  waiting for approval`));
    expect(status.stdout).toMatch(new RegExp(`waiting for approval at mark: 0 of 1, .*pgrunbook approve ${runId} mark`));

    const self = await runCli(['approve', runId, '--db', db.url]);
    expect(self.code).toBe(1);
    expect(self.stdout).toMatch(/run .*, step mark: mark/);
    expect(self.stderr).toMatch(/the operator cannot approve their own gate/);
    expect(self.stderr).toMatch(/hint: ask another engineer/);

    const other = await runCli(['approve', runId, 'mark', '--db', approverUrl, '--reason', 'looked at the plan']);
    expect(other.stderr).toBe('');
    expect(other.code).toBe(0);
    expect(other.stdout).toMatch(new RegExp(`approved step mark of run ${runId} as \\S+ \\(role ${role}\\): the run continues`));
    const done = await run.done;
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(new RegExp(`mark: approved by \\S+ \\(role ${role}\\): looked at the plan`));
    expect(await effects('approve-ok')).toBe(1);

    // Journaled, and woken by the NOTIFY: well inside the poll interval (no timing bar, just "not the poll").
    const decided = await db.query(`select at, payload from pgrunbook.events where run_id = $1 and type = 'approval.decided'`, [runId]);
    expect(decided).toHaveLength(1);
    expect(decided[0].payload).toMatchObject({ approved: true, by: { role }, seenBy: 'notify', missing: 0 });
    const lagMs = new Date(decided[0].at).getTime() - new Date(decided[0].payload.decidedAt).getTime();
    expect(lagMs).toBeLessThan(APPROVAL_POLL_MS / 2);
    const gate = await db.query(
      `select payload from pgrunbook.events where run_id = $1 and type = 'gate.decided' and payload->'request'->>'stepId' = 'mark'`,
      [runId],
    );
    expect(gate[0].payload.decision.by).toMatch(new RegExp(`\\(--yes\\); approved by \\S+ \\(role ${role}\\)`));
    const md = await runCli(['report', runId, '--db', db.url]);
    expect(md.stdout).toMatch(new RegExp(`## Approvals[\\s\\S]*approved by \\S+ \\(role ${role}\\)`));
    expect((await runCli(['status', '--db', db.url])).stdout).not.toMatch(/waiting for approval/);
  });

  it('a rejection stops the step cleanly; resume asks again and an approval completes it once', async () => {
    const { run, runId } = await waitingRun('approve-reject');
    const noReason = await runCli(['reject', runId, '--db', approverUrl]);
    expect(noReason.code).toBe(2);
    const rej = await runCli(['reject', runId, '--db', approverUrl, '--reason', 'not during the sale']);
    expect(rej.code).toBe(0);
    const done = await run.done;
    expect(done.code).toBe(1);
    expect(done.stdout).toMatch(/mark: REJECTED by \S+ \(role approver_\w+\): not during the sale/);
    expect(done.stderr + done.stdout).toMatch(/gate for step mark was not approved: rejected by .*not during the sale/);
    expect(await effects('approve-reject')).toBe(0);

    const resumed = startCli(['resume', runId, '--db', db.url, '--plain', '--yes', '--journal-dir', journalDir]);
    await resumed.waitFor(/mark: waiting for approval/, 60_000);
    expect((await runCli(['approve', runId, '--db', approverUrl])).code).toBe(0);
    const end = await resumed.done;
    expect(end.code).toBe(0);
    expect(await effects('approve-reject')).toBe(1);
    const outcomes = await db.query(`select outcome from pgrunbook.approval_requests where run_id = $1 order by request_id`, [runId]);
    expect(outcomes.map((r) => r.outcome)).toEqual(['rejected', 'approved']);
  });

  it('an approver killed before its decision commits changes nothing', async () => {
    const { run, runId } = await waitingRun('approve-killed');
    const blocker = await db.pool.connect();
    try {
      // Hold the decision's INSERT (not the reads) so the approver dies inside its transaction.
      await blocker.query('begin');
      await blocker.query('lock table pgrunbook.approval_decisions in share mode');
      const approver = startCli(['approve', runId, '--db', approverUrl]);
      await until(async () => {
        const w = await db.query(
          `select 1 from pg_stat_activity where application_name = 'pgrunbook:approve' and wait_event_type = 'Lock'`,
        );
        return w.length > 0;
      });
      approver.child.kill('SIGKILL');
      expect((await approver.done).signal).toBe('SIGKILL');
      await blocker.query('commit');
    } finally {
      blocker.release();
    }
    expect(
      await db.query(
        'select * from pgrunbook.approval_decisions d join pgrunbook.approval_requests q using (request_id) where run_id = $1',
        [runId],
      ),
    ).toEqual([]);
    const status = await runCli(['status', '--db', db.url]);
    expect(status.stdout).toMatch(new RegExp(`${runId}  approve-killed  waiting for approval`));
    expect(await effects('approve-killed')).toBe(0);
    expect((await runCli(['approve', runId, '--db', approverUrl])).code).toBe(0);
    expect((await run.done).code).toBe(0);
    expect(await effects('approve-killed')).toBe(1);
  });

  it('another OS account with the same database role is another person; a claimed SUDO_USER is not', async () => {
    const { run, runId } = await waitingRun('approve-os-user');
    // Not root under sudo: SUDO_USER is only a claim, the operator is still the operator.
    const spoof = await runCli(['approve', runId, '--db', db.url], { env: { SUDO_USER: 'bob', SUDO_UID: '' } });
    expect(spoof.code).toBe(1);
    expect(spoof.stdout).toMatch(/SUDO_USER=bob is not trusted \(this process does not run as root under sudo\)/);
    expect(spoof.stderr).toMatch(/the operator cannot approve their own gate/);

    const reviewer = osAccount();
    let other: Awaited<ReturnType<typeof runCli>>;
    try {
      other = await runCli(['approve', runId, '--db', db.url], { as: reviewer, cwd: reviewer.cwd, env: { HOME: reviewer.cwd } });
    } finally {
      execFileSync('userdel', [reviewer.name]);
    }
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toMatch(new RegExp(`as ${reviewer.name}@\\S+ \\(role postgres\\): the run continues`));
    expect((await run.done).code).toBe(0);
    const d = await db.query(
      'select os_user, db_role from pgrunbook.approval_decisions join pgrunbook.approval_requests using (request_id) where run_id = $1',
      [runId],
    );
    expect(d).toEqual([{ os_user: reviewer.name, db_role: 'postgres' }]);
  });

  it('a killed LISTEN session does not lose the approval: the run still wakes and completes', async () => {
    const { run, runId } = await waitingRun('approve-listen-killed');
    const listeners = async () =>
      (
        await db.query(
          `select pid from pg_stat_activity where datname = current_database() and query ilike 'LISTEN %' and pid <> pg_backend_pid()`,
        )
      ).map((r) => r.pid as number);
    const [pid, ...more] = await listeners();
    expect(pid, 'the run listens for approvals').toBeDefined();
    expect(more).toEqual([]);
    await db.query('select pg_terminate_backend($1)', [pid]);
    await run.waitFor(/lost the session that listens for approvals; reading decisions every/, 60_000);
    expect((await runCli(['approve', runId, '--db', approverUrl])).code).toBe(0);
    // Woken by the poll (no listener until it reconnects) or by the NOTIFY on a new session; both are fine.
    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    expect(await effects('approve-listen-killed')).toBe(1);
    const decided = await db.query(`select payload from pgrunbook.events where run_id = $1 and type = 'approval.decided'`, [runId]);
    expect(decided).toHaveLength(1);
    expect(decided[0].payload.seenBy).toMatch(/^(poll|notify)$/);
  }, 120_000);

  it('settings.approval_timeout: an unanswered gate stops the run after the timeout, resumable', async () => {
    const run = await runCli([
      'run',
      runbook('approve-timeout', '\n  approval_timeout: 2s'),
      '--db',
      db.url,
      '--plain',
      '--yes',
      '--journal-dir',
      journalDir,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/no approval within settings\.approval_timeout \(2s\); resume the run to ask again/);
    expect(await effects('approve-timeout')).toBe(0);
  });
});

/**
 * A real second OS account (the suite and CI run as root; without root this fails, it does not skip);
 * the caller removes it. It runs the CLI in place when it can read the checkout, else
 * from a world-readable copy of what the CLI needs.
 */
function osAccount(): { name: string; uid: number; gid: number; bin: string; cwd: string } {
  const name = `pgrb_rev_${randomBytes(3).toString('hex')}`;
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  const uid = Number(execFileSync('id', ['-u', name]).toString());
  const gid = Number(execFileSync('id', ['-g', name]).toString());
  const cwd = mkdtempSync(join(tmpdir(), 'pgrunbook-reviewer-'));
  chmodSync(cwd, 0o755);
  const canRead = spawnSync(process.execPath, [BIN, '--version'], { uid, gid, cwd }).status === 0;
  if (canRead) return { name, uid, gid, bin: BIN, cwd };
  for (const part of ['bin', 'dist', 'node_modules', 'package.json']) {
    execFileSync('cp', ['-a', join(ROOT, part), join(cwd, part)]);
  }
  return { name, uid, gid, bin: join(cwd, 'bin', 'pgrunbook.js'), cwd };
}

async function until(cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
