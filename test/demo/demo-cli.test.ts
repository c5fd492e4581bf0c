// `pgrunbook demo` without a terminal: plain lines, gates approved by policy, and PostgreSQL stopped
// whichever way the process ends (done, SIGTERM, a closed stdout). Drives the built binary.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';
import { alive, postmastersUnder, waitUntil } from '../e2e/support/tmux.js';

const ARGS = ['demo', '--rows', '20000', '--rate', '20'];

async function postmasterOf(pid: number): Promise<{ pid: number; dataDir: string }> {
  let found: { pid: number; dataDir: string }[] = [];
  await waitUntil(() => (found = postmastersUnder(pid)).length === 1, 'the embedded postmaster', 30_000);
  return found[0]!;
}

async function expectGone(pm: { pid: number; dataDir: string }): Promise<void> {
  await waitUntil(() => !alive(pm.pid), `postmaster ${pm.pid} to stop`, 20_000);
  await waitUntil(() => !existsSync(pm.dataDir), 'its data directory to be removed', 5_000);
}

describe('pgrunbook demo without a terminal', () => {
  it('prints plain lines, runs the demo runbook with policy gates and stops PostgreSQL at the end', async () => {
    const cli = startCli([...ARGS, '--exit-when-done']);
    const pm = await postmasterOf(cli.child.pid!);
    const r = await cli.done;
    expect(r.stdout).toContain('demo: starting PostgreSQL');
    expect(r.stdout).toMatch(/demo ready in [\d.]+ s: 20,000 orders seeded/);
    expect(r.stdout).toMatch(/add_amount_cents: gate approved by .*demo, no terminal/);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    expect(r.stdout).toMatch(/run \S+ completed/);
    expect(r.code).toBe(0);
    await expectGone(pm);
  });

  it('SIGTERM stops at a safe point and stops PostgreSQL', async () => {
    const cli = startCli(ARGS);
    const pm = await postmasterOf(cli.child.pid!);
    await cli.waitFor(/demo ready/, 60_000);
    cli.child.kill('SIGTERM');
    const r = await cli.done;
    expect(r.code).toBe(143);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    await expectGone(pm);
  });

  it('a closed stdout (EPIPE) does not crash: it stops and cleans up', async () => {
    const cli = startCli(ARGS);
    const pm = await postmasterOf(cli.child.pid!);
    await cli.waitFor(/demo ready/, 60_000);
    cli.child.stdout!.destroy();
    const r = await cli.done;
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|at .*\.js:\d+/);
    expect(r.code).toBe(1); // stopped before the runbook completed, as `run` exits
    await expectGone(pm);
  });
});
