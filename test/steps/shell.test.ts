import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, RunbookError } from '../../src/util/runbook-error.js';
import { shellKind, type ShellParams } from '../../src/steps/shell.js';
import { makeRunbook, makeStep, makeTestStepContext, type TestStepContext } from '../support/step-context.js';
import { useTestDatabase } from '../support/pg.js';

const db = useTestDatabase();
let ctx: TestStepContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

async function setup(params: ShellParams) {
  const step = makeStep('shell', params);
  ctx = await makeTestStepContext({ url: db.url, step });
  return { step, ctx };
}

const logs = (c: TestStepContext) => c.events.filter((e) => e.type === 'step.log').map((e: any) => `${e.stream}:${e.message}`);

/** Running, and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('shell step', () => {
  it('streams stdout and stderr lines as step.log events', async () => {
    const { step, ctx } = await setup({ command: 'echo one; echo two >&2; printf "three\\nfour"' });
    const r = await shellKind.apply(step, ctx);
    expect(r).toMatchObject({ exitCode: 0, stdoutLines: 3, stderrLines: 1 });
    expect(logs(ctx).sort()).toEqual(['stderr:two', 'stdout:four', 'stdout:one', 'stdout:three']);
  });

  it('runs in cwd with extra environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-shell-'));
    const { step, ctx } = await setup({ command: 'pwd; echo "$GREETING"', cwd: dir, env: { GREETING: 'hi there' } });
    await shellKind.apply(step, ctx);
    expect(logs(ctx)).toEqual([`stdout:${dir}`, 'stdout:hi there']);
  });

  it('fails on a non-zero exit with the code and the last stderr lines', async () => {
    const { step, ctx } = await setup({ command: 'for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; exit 3' });
    const err: any = await shellKind.apply(step, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(RunbookError);
    expect(err.message).toMatch(/exit code 3/);
    expect(err.message).toMatch(/line 3[\s\S]*line 7/);
    expect(err.message).not.toMatch(/line 2/);
  });

  it('says clearly when the program is missing', async () => {
    const { step, ctx } = await setup({ command: 'pgrunbook-no-such-tool --migrate' });
    await expect(shellKind.apply(step, ctx)).rejects.toThrow(/command not found: pgrunbook-no-such-tool \(exit 127\)/);
    const missingDir = await setup({ command: 'true', cwd: '/nonexistent/dir' });
    await expect(shellKind.apply(missingDir.step, missingDir.ctx)).rejects.toThrow(/working directory \/nonexistent\/dir does not exist/);
  });

  it('a cancel kills the whole process group: no child is left', async () => {
    const { step, ctx } = await setup({ command: 'sleep 300 & echo "bg $!"; sh -c "sleep 300" & echo "bg $!"; echo "sh $$"; wait' });
    const running = shellKind.apply(step, ctx);
    await until(() => logs(ctx).filter((l) => l.startsWith('stdout:')).length === 3);
    const pids = logs(ctx).map((l) => Number(l.split(' ')[1]));
    expect(pids.every(alive)).toBe(true);
    ctx.abort.abort();
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    await until(() => !pids.some(alive));
    expect(pids.filter(alive)).toEqual([]);
  });

  it('ends what a finished command left running in the background', async () => {
    const { step, ctx } = await setup({ command: 'sleep 300 & echo "$!"' });
    await shellKind.apply(step, ctx);
    const pid = Number(logs(ctx)[0]!.split(':')[1]);
    await until(() => !alive(pid));
  });

  it('kills the command when its timeout passes', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'pgrunbook-shell-')), 'late');
    const { step, ctx } = await setup({ command: `sleep 1 && touch ${marker}`, timeout: 200 });
    const t0 = Date.now();
    await expect(shellKind.apply(step, ctx)).rejects.toThrow(/timed out after 200ms/);
    expect(Date.now() - t0).toBeLessThan(900);
    await new Promise((r) => setTimeout(r, 1300));
    expect(existsSync(marker)).toBe(false);
  });

  it('plans the command; irreversible unless rollback SQL is given', async () => {
    const step = makeStep('shell', { command: 'flyway migrate', cwd: '/srv/app' });
    const plan = await shellKind.plan(step, { runbook: makeRunbook([step]) });
    expect(plan.notes).toEqual(['runs: flyway migrate (in /srv/app)']);
    expect(plan.reversible).toBe(false);
  });
});
