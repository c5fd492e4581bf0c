// `pgrunbook monitor`: bad input and unreachable servers in-process; the real process for JSON and
// plain output, signals, a closed pipe, and the Ink app in a real terminal (tmux).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { useTestDatabase } from '../support/pg.js';
import { runMonitor, type MonitorCommandOptions } from '../../src/cli/commands/monitor-command.js';
import { InputError, RunbookError } from '../../src/util/runbook-error.js';
import { waitFor } from '../monitor/support/scenarios.js';

const db = useTestDatabase();
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The built binary (npm test builds first): tsx would transpile the whole tree at every start.
const BIN = fileURLToPath(new URL('../../bin/pgrunbook.js', import.meta.url));

const opts = (over: Partial<MonitorCommandOptions>): MonitorCommandOptions => ({ interval: '1s', longQuery: '5s', relation: [], ...over });

/** The CLI as a real process. */
function cli(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

function collect(child: ChildProcessWithoutNullStreams): {
  out: () => string;
  err: () => string;
  exit: Promise<{ code: number | null; signal: string | null }>;
} {
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (err += b));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { out: () => out, err: () => err, exit };
}

async function monitorSessions(): Promise<number> {
  const r = await db.query(
    `select count(*)::int as n from pg_stat_activity where application_name = 'pgrunbook:monitor' and datname = current_database()`,
  );
  return r[0].n;
}

describe('pgrunbook monitor: input and connection errors', () => {
  it('refuses a bad interval before connecting (exit 2)', async () => {
    await expect(runMonitor(opts({ db: db.url, interval: '5' }))).rejects.toThrow(InputError);
    await expect(runMonitor(opts({ db: db.url, interval: '5' }))).rejects.toThrow(/--interval 5: "5" is not a duration/);
    await expect(runMonitor(opts({ db: db.url, interval: '10ms' }))).rejects.toThrow(/at least 100 ms/);
    await expect(runMonitor(opts({ db: db.url, count: 'lots' }))).rejects.toThrow(/--count lots/);
    await expect(runMonitor(opts({ db: db.url, plain: true, json: true }))).rejects.toThrow(/mutually exclusive/);
  });

  it('says clearly when the server cannot be reached, without the password', async () => {
    const err = await runMonitor(opts({ db: 'postgres://app:hunter2@127.0.0.1:1/shop', plain: true })).catch((e) => e);
    expect(err).toBeInstanceOf(RunbookError);
    expect(err.message).toBe(
      'cannot connect to app@127.0.0.1:1/shop (from --db): connection refused. Is PostgreSQL running and listening on that host and port?',
    );
    expect(`${err.message} ${err.hint}`).not.toContain('hunter2');
  });

  it('writes one JSON object per sample and stops after --count', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await runMonitor(opts({ db: db.url, json: true, count: '2', interval: '100ms' }));
    } finally {
      spy.mockRestore();
    }
    const objs = written
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(objs).toHaveLength(2);
    expect(objs[0]).toMatchObject({ locks: [], role: 'primary', serverVersionNum: expect.any(Number) });
    expect(objs[1].walBytesPerSecond).toBeGreaterThanOrEqual(0);
  });
});

describe('pgrunbook monitor as a process', () => {
  beforeAll(async () => {
    await db.query('create table orders (id int primary key)');
  });
  afterAll(async () => {
    await waitFor(async () => (await monitorSessions()) === 0, 'no monitor sessions left behind', 10_000).catch(() => {});
  });

  it('stops cleanly on SIGTERM, SIGINT, SIGHUP and a closed output pipe, closing its sessions', async () => {
    // Started together: most of the time is the CLI's start-up.
    const runs = (['SIGTERM', 'SIGINT', 'SIGHUP', 'pipe'] as const).map((how) => ({
      how,
      child: cli(['monitor', '--db', db.url, how === 'pipe' ? '--json' : '--plain', '--interval', '200ms']),
    }));
    const results = await Promise.all(
      runs.map(async ({ how, child }) => {
        const c = collect(child);
        await waitFor(async () => c.out().split('\n').length >= 3, `two lines before ${how}`, 40_000);
        if (how === 'pipe') child.stdout.destroy();
        else child.kill(how);
        return { how, ...(await c.exit), out: c.out(), err: c.err() };
      }),
    );
    for (const r of results) {
      expect(r, `${r.how}: ${r.err}`).toMatchObject({ code: 0, signal: null });
      expect(r.err).not.toMatch(/EPIPE|Error/);
      if (r.how === 'pipe') expect(JSON.parse(r.out.split('\n')[0]!)).toMatchObject({ role: 'primary' });
      else
        expect(r.out).toMatch(/^\d\d:\d\d:\d\d conns \d+\/\d+ .*\| locks: none waiting \| long: none over 5s \| repl: no standbys, WAL/m);
    }
    await waitFor(async () => (await monitorSessions()) === 0, 'the monitor sessions to end', 10_000);
  });

  it('runs the Ink app in a terminal: panels, q quits; a hang-up (SIGHUP) stops it too', async () => {
    const session = `pgrbmon${process.pid}`;
    const cmd = (s: string) =>
      `cd ${ROOT} && env -u CI -u CONTINUOUS_INTEGRATION NO_COLOR=1 ${process.execPath} ${BIN} monitor --db '${db.url}' --interval 300ms; echo EXIT=$?; sleep 60`;
    // Ink draws only the last frame when it detects CI, so the terminal session runs without CI set.
    // Our own tmux server (socket), so no other test's tmux sessions or kill-server can touch ours.
    const socket = `pgrunbook-monitor-test-${process.pid}`;
    const tmux = (...a: string[]) => execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
    const screen = (s: string) => tmux('capture-pane', '-p', '-t', s);
    tmux('new-session', '-d', '-s', `${session}q`, '-x', '80', '-y', '24', cmd(`${session}q`));
    tmux('new-session', '-d', '-s', `${session}h`, '-x', '80', '-y', '24', cmd(`${session}h`));
    try {
      for (const s of [`${session}q`, `${session}h`]) {
        await waitFor(async () => screen(s).includes('── Index build'), `the panels in ${s}`, 40_000);
        const text = screen(s);
        for (const title of ['── Locks', '── Long queries', '── Replication', '── Index build']) expect(text).toContain(title);
        expect(text).toContain('q quit · space freeze · c cancel our waiting statement');
        for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
      }
      tmux('send-keys', '-t', `${session}q`, 'q');
      await waitFor(async () => screen(`${session}q`).includes('EXIT=0'), 'q to quit with exit 0', 15_000);
      // Hang-up: the terminal goes away; the process must end and close its sessions.
      const pids = tmux('list-panes', '-t', `${session}h`, '-F', '#{pane_pid}').trim();
      const before = execFileSync('ps', ['-o', 'pid=', '--ppid', pids], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
      tmux('kill-session', '-t', `${session}h`);
      await waitFor(
        async () =>
          before.every((p) => {
            try {
              process.kill(Number(p), 0);
              return false;
            } catch {
              return true;
            }
          }),
        'the monitor process to exit after SIGHUP',
        15_000,
      );
    } finally {
      try {
        tmux('kill-server');
      } catch {
        /* already gone */
      }
    }
    await waitFor(async () => (await monitorSessions()) === 0, 'the monitor sessions to end', 10_000);
  });
});
