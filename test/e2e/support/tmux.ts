// Drives a real terminal: a private tmux server (its own socket, so nothing touches the user's
// sessions), a pane of a fixed size, keys in, screen text out, polled against a deadline.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export function hasTmux(): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
}

/**
 * Whether tmux is here for the real-terminal tests of `what`. In CI a missing tmux fails the run
 * (.ci/run installs it); elsewhere the skip is said, never silent.
 */
export function tmuxForTests(what: string): boolean {
  if (hasTmux()) return true;
  if (process.env.CI) throw new Error(`tmux is not installed: .ci/run installs it (apt-get install tmux); the ${what} must run in CI`);
  process.stdout.write(`SKIPPED: tmux is not installed (apt-get install tmux); the ${what} did not run\n`);
  return false;
}

/** The environment of a pane that must look like an operator's terminal, not CI. */
export const TERMINAL_ENV = { CI: undefined, CONTINUOUS_INTEGRATION: undefined, NO_COLOR: '1', TERM: 'xterm-256color' };

export class TmuxPane {
  private readonly socket: string;
  constructor(
    readonly name: string,
    private readonly size = { columns: 80, rows: 24 },
  ) {
    this.socket = `pgrb-e2e-${process.pid}-${name}`;
  }

  private tmux(args: string[], opts: { allowFail?: boolean } = {}): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0 && !opts.allowFail) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout ?? '';
  }

  /** Starts `command` (a shell string) in a new detached session; env entries are exported first. */
  start(command: string, env: Record<string, string | undefined> = {}): void {
    const exports = Object.entries(env)
      .map(([k, v]) => (v === undefined ? `unset ${k};` : `export ${k}=${shellQuote(v)};`))
      .join(' ');
    this.tmux([
      'new-session',
      '-d',
      '-s',
      this.name,
      '-x',
      String(this.size.columns),
      '-y',
      String(this.size.rows),
      `${exports} ${command}`,
    ]);
    // Keep the pane (and its last screen) after the program ends, so the exit can be checked.
    this.tmux(['set-option', '-t', this.name, 'remain-on-exit', 'on']);
  }

  capture(opts: { escapes?: boolean } = {}): string {
    return this.tmux(['capture-pane', '-p', ...(opts.escapes ? ['-e'] : []), '-t', this.name], { allowFail: true });
  }

  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  /** Literal text (no key-name lookup). */
  type(text: string): void {
    this.tmux(['send-keys', '-l', '-t', this.name, text]);
  }

  panePid(): number {
    return Number(this.tmux(['list-panes', '-t', this.name, '-F', '#{pane_pid}']).trim());
  }

  async waitForScreen(pred: (screen: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    for (;;) {
      screen = this.capture();
      if (pred(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Hangs up the terminal: tmux sends SIGHUP to the pane's processes. */
  killSession(): void {
    this.tmux(['kill-session', '-t', this.name], { allowFail: true });
  }

  killServer(): void {
    this.tmux(['kill-server'], { allowFail: true });
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Direct children of `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Running and not a zombie; a process that exits between the two reads is not alive. */
export function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** Postmasters started (directly) by any descendant of `root`, with their data directories. */
export function postmastersUnder(root: number): { pid: number; dataDir: string }[] {
  const found: { pid: number; dataDir: string }[] = [];
  const walk = (pid: number, depth: number) => {
    if (depth > 6) return;
    for (const c of childPids(pid)) {
      const cmd = cmdline(c);
      const m = / -D (\S+)/.exec(cmd);
      if (/\/postgres( |$)/.test(cmd.split(' ')[0] ?? '') && m) found.push({ pid: c, dataDir: m[1]! });
      else walk(c, depth + 1);
    }
  };
  walk(root, 0);
  return found;
}

export async function waitUntil(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
