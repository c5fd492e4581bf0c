// Spawns the built CLI (bin/pgrunbook.js → dist/). `npm test` builds first (pretest).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/pgrunbook.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Run as another OS account (the suite runs as root), from `bin` when the checkout is not readable by it. */
  as?: { uid: number; gid: number; bin?: string };
  /** A command that runs node in turn (e.g. `ip netns exec NS`). */
  prefix?: string[];
}

export function startCli(args: string[], opts: CliOptions = {}): CliProcess {
  const argv = [process.execPath, opts.as?.bin ?? BIN, ...args];
  const [cmd, ...rest] = [...(opts.prefix ?? []), ...argv];
  const child = spawn(cmd!, rest, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    uid: opts.as?.uid,
    gid: opts.as?.gid,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (b) => {
    out += b;
    for (const w of [...waiters]) if (w.re.test(out)) w.resolve();
  });
  child.stderr!.on('data', (b) => (err += b));
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitFor: (re, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(out)) return resolve();
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out}\n--- stderr:\n${err}`)), timeoutMs);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      }),
  };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}
