// The real binary in a real terminal (tmux provides the pty, so this runs with CI=true and no TTY
// on the test runner): the demo starts, the panels and a gate appear, `?` shows the help, and every
// way out (q, Ctrl+C, a hang-up) stops the embedded PostgreSQL.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/cli.js';
import { alive, postmastersUnder, TERMINAL_ENV, TmuxPane, tmuxForTests, waitUntil } from './support/tmux.js';

const ROWS = '100000';
const panes: TmuxPane[] = [];

function startDemo(name: string, opts: { recordExit?: boolean } = {}): TmuxPane {
  const pane = new TmuxPane(name);
  panes.push(pane);
  const demo = `${process.execPath} ${BIN} demo --rows ${ROWS} --rate 20`; // the Node that runs the tests
  // tmux 3.3 can mark a pane dead before it records the exit status, so tests that check the code
  // have the shell print it; the others exec node so signals reach it directly.
  const cmd = opts.recordExit ? `cd ${ROOT} && ${demo}; echo "EXIT=$?"; sleep 60` : `cd ${ROOT} && exec ${demo}`;
  // Ink renders only the final frame when it believes it runs in CI: the pane is a terminal, not CI.
  pane.start(cmd, TERMINAL_ENV);
  return pane;
}

async function exitCode(pane: TmuxPane): Promise<number> {
  const screen = await pane.waitForScreen((s) => /EXIT=\d+/.test(s), 'pgrunbook to exit', 15_000);
  return Number(/EXIT=(\d+)/.exec(screen)![1]);
}

async function demoAtFirstGate(pane: TmuxPane): Promise<{ pid: number; dataDir: string }> {
  await pane.waitForScreen((s) => s.includes('Approve? [y/N]'), 'the first gate', 60_000);
  // The bottom-right cell shows the Workload panel (the demo's traffic on orders) while no index build
  // runs; in one CI run a build ("initializing") held it for a moment as the first gate appeared.
  const screen = await pane.waitForScreen(
    (s) => s.includes('Approve? [y/N]') && s.includes('Workload · orders'),
    'the Workload panel at the first gate',
    20_000,
  );
  for (const title of ['Steps', 'Locks', 'Long queries', 'Replication', 'Workload · orders', 'Log', 'GATE · confirm · add_amount_cents'])
    expect(screen).toContain(title);
  const pms = postmastersUnder(pane.panePid());
  expect(pms).toHaveLength(1);
  return pms[0]!;
}

async function expectStopped(pane: TmuxPane, pm: { pid: number; dataDir: string }): Promise<number> {
  await waitUntil(() => !alive(pm.pid), `postmaster ${pm.pid} to stop`, 20_000);
  await waitUntil(() => !existsSync(pm.dataDir), `data directory ${pm.dataDir} to be removed`, 5_000);
  return exitCode(pane);
}

afterEach(() => {
  for (const p of panes.splice(0)) p.killServer();
});

// .ci/run installs tmux, so in CI a missing tmux is a broken set-up, not a reason to skip.
const tmux = tmuxForTests('real-terminal demo tests');

describe.skipIf(!tmux)('pgrunbook demo in a real terminal (tmux, 80×24)', () => {
  it('shows the panels and a gate, ? shows the help, q quits and stops PostgreSQL', async () => {
    const pane = startDemo('q', { recordExit: true });
    const pm = await demoAtFirstGate(pane);
    const screen = pane.capture();
    // 80×24: nothing wider than the terminal, the live region shorter than it.
    expect(screen.split('\n').every((l) => l.length <= 80)).toBe(true);
    expect(screen).toMatch(/PostgreSQL 1\d/);
    expect(screen).toMatch(/postgres@127\.0\.0\.1:\d+\/demo/);
    // NO_COLOR=1: no colour or style escapes reach the terminal.
    expect(pane.capture({ escapes: true })).not.toMatch(/\u001b\[[0-9;]*[1-9][0-9;]*m/);

    pane.type('?');
    const help = await pane.waitForScreen((s) => s.includes('Help · keys'), 'the help overlay');
    for (const k of [
      'pause / resume the step',
      'batch size',
      'freeze / thaw the panels',
      'log pager',
      'abort the run',
      'quit; run stays resumable',
    ])
      expect(help).toContain(k);
    pane.type('x');
    await pane.waitForScreen((s) => s.includes('Approve? [y/N]') && !s.includes('Help · keys'), 'the gate again');

    // No step runs at a gate: q quits without asking.
    pane.type('q');
    expect(await expectStopped(pane, pm)).toBe(1); // stopped before the end: the same rule as `run`
  });

  it('Ctrl+C quits and stops PostgreSQL', async () => {
    const pane = startDemo('ctrlc', { recordExit: true });
    const pm = await demoAtFirstGate(pane);
    pane.keys('C-c');
    expect(await expectStopped(pane, pm)).toBe(1); // Ctrl+C at a gate: exit 1 in the demo as in a run
  });

  it('even kill -9 of pgrunbook does not leave PostgreSQL behind (the watchdog stops it)', async () => {
    const pane = startDemo('kill9');
    const pm = await demoAtFirstGate(pane);
    process.kill(pane.panePid(), 'SIGKILL');
    await waitUntil(() => !alive(pm.pid), `postmaster ${pm.pid} to stop after kill -9`, 20_000);
    await waitUntil(() => !existsSync(pm.dataDir), `data directory ${pm.dataDir} to be removed`, 5_000);
  });

  it('a hang-up (the terminal closes) stops PostgreSQL', async () => {
    const pane = startDemo('hup');
    const pm = await demoAtFirstGate(pane);
    pane.killSession();
    await waitUntil(() => !alive(pm.pid), `postmaster ${pm.pid} to stop after SIGHUP`, 20_000);
    await waitUntil(() => !existsSync(pm.dataDir), `data directory ${pm.dataDir} to be removed`, 5_000);
  });
});
