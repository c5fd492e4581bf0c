// shell: a command through execa (flyway, sqitch, pg_repack, a deploy script). Each output line
// becomes a step.log event (with its stream), so it lands in the journal and the UI log. The
// command runs in its own process group: a cancel (or timeout) signals the whole group, so
// children the script started (`cmd &`, pipelines) cannot outlive the step. Leftovers of a command
// that has finished are ended the same way.
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { z } from 'zod';
import { AbortedError, RunbookError } from '../util/runbook-error.js';
import { formatDuration, zDuration } from '../runbook/durations.js';
import type { StepContext, StepKind } from '../engine/step-kind.js';

export interface ShellParams {
  command: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Kill the command after this long (ms). */
  timeout?: number;
}

const shellObject = z.strictObject({
  command: z.string().trim().min(1).describe('Command line, run by /bin/sh. {{ name }} becomes one shell-quoted word.'),
  cwd: z.string().min(1).optional().describe('Working directory.'),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'environment variable names are letters, digits and _' }),
      z.union([z.string(), z.number(), z.boolean()]).transform(String),
    )
    .optional()
    .describe('Extra environment variables.'),
  timeout: zDuration({ positive: true, zeroMessage: 'timeout 0 would kill the command at once: omit it for no limit' })
    .optional()
    .describe('Kill the command (and everything it started) after this long.'),
});

const schema = z
  .union([z.string().trim().min(1), shellObject])
  .describe('A command line, or {command, cwd, env, timeout}.')
  .transform((v): ShellParams => (typeof v === 'string' ? { command: v } : v));

/** Grace between SIGTERM and SIGKILL for the process group. */
export const KILL_GRACE_MS = 3000;
const TAIL_LINES = 5;
const MAX_LINE = 4000;

function signalGroup(pid: number | undefined, sig: NodeJS.Signals | 0): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether any process of the group still runs. Killed grandchildren are re-parented to PID 1 and
 * may sit there as zombies for a while; kill(-pgid, 0) counts those, so on Linux read /proc.
 */
function groupRunning(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return signalGroup(pgid, 0);
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state ppid pgrp ...
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/** SIGTERM the group, then SIGKILL whatever is left after the grace period. */
async function endGroup(pid: number | undefined, graceMs: number): Promise<void> {
  if (!pid || !signalGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    if (!groupRunning(pid)) return;
  }
  signalGroup(pid, 'SIGKILL');
}

function firstWord(command: string): string {
  return command.trim().split(/\s+/)[0] ?? command;
}

type ShellContext = Pick<StepContext, 'emit' | 'signal' | 'clock'> & { stepId: string };
type StopReason = 'abort' | 'timeout';

/** What execa reports about a finished command that runShell reads. */
interface Ended {
  exitCode?: number | undefined;
  signal?: string | undefined;
  message?: string | undefined;
  shortMessage?: string | undefined;
}

export async function runShell(p: ShellParams, ctx: ShellContext, graceMs = KILL_GRACE_MS) {
  if (ctx.signal.aborted) throw new AbortedError();
  const t0 = Date.now();
  const child = execa(p.command, {
    shell: true,
    detached: true, // own process group, so the whole tree can be signalled
    cwd: p.cwd,
    env: p.env,
    extendEnv: true,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    cleanup: false,
  });
  const output = pumpOutput(child, ctx);
  const guard = guardGroup(child, p, ctx, graceMs);

  let result: Awaited<typeof child>;
  try {
    result = await child;
    await output.pumped;
    await guard.ending();
  } finally {
    guard.release();
  }
  const durationMs = Date.now() - t0;
  const lastErr = output.tail.length ? `:\n  ${output.tail.join('\n  ')}` : '';
  const failure = guard.stopped() ? stoppedError(p, guard.stopped()!, lastErr) : exitError(p, result, lastErr);
  if (failure) throw failure;
  return { exitCode: 0, durationMs, stdoutLines: output.counts.stdout, stderrLines: output.counts.stderr };
}

/** Each output line becomes a step.log event; the last stderr lines are kept for the error text. */
function pumpOutput(
  child: { stdout: NodeJS.ReadableStream | null; stderr: NodeJS.ReadableStream | null },
  ctx: ShellContext,
): { pumped: Promise<unknown>; tail: string[]; counts: { stdout: number; stderr: number } } {
  const tail: string[] = [];
  const counts = { stdout: 0, stderr: 0 };
  const pump = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') => {
    if (!stream) return Promise.resolve();
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (raw) => {
      const line = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}…` : raw;
      counts[name]++;
      if (name === 'stderr') {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
      }
      ctx.emit({ type: 'step.log', stepId: ctx.stepId, level: name === 'stderr' ? 'warn' : 'info', message: line, stream: name });
    });
    return new Promise<void>((resolve) => rl.once('close', () => resolve()));
  };
  return { pumped: Promise.all([pump(child.stdout, 'stdout'), pump(child.stderr, 'stderr')]), tail, counts };
}

/**
 * Ends the command's process group on a cancel or at the timeout, and whatever the command left
 * running in its group when it exits by itself.
 */
function guardGroup(
  child: { pid?: number | undefined; nodeChildProcess: { once(event: 'exit', fn: () => void): unknown } },
  p: ShellParams,
  ctx: ShellContext,
  graceMs: number,
) {
  let stopped: StopReason | undefined;
  let ending: Promise<void> | undefined;
  const stop = (why: StopReason) => {
    if (stopped) return;
    stopped = why;
    ending = endGroup(child.pid, graceMs);
  };
  const onAbort = () => stop('abort');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const timer = new AbortController();
  if (p.timeout) {
    ctx.clock.sleep(p.timeout, timer.signal).then(
      () => stop('timeout'),
      () => {},
    );
  }
  child.nodeChildProcess.once('exit', () => {
    if (!stopped) ending = endGroup(child.pid, graceMs);
  });
  return {
    stopped: () => stopped,
    ending: () => ending,
    release: () => {
      ctx.signal.removeEventListener('abort', onAbort);
      timer.abort();
    },
  };
}

function stoppedError(p: ShellParams, why: StopReason, lastErr: string): Error {
  if (why === 'abort') return new AbortedError(`shell command cancelled; its process group was terminated (${firstWord(p.command)})`);
  return new RunbookError(`shell command timed out after ${formatDuration(p.timeout!)} and was killed${lastErr}`, {
    hint: 'raise shell.timeout if the command needs longer, or find out why it hangs',
  });
}

/** The error for a command that did not start or did not exit 0; undefined when it succeeded. */
function exitError(p: ShellParams, result: Ended, lastErr: string): Error | undefined {
  if (result.exitCode === undefined) {
    // Did not start, or died from a signal.
    if (result.signal) return new RunbookError(`shell command was killed by ${result.signal}${lastErr}`);
    const cause = (result as { cause?: Error }).cause;
    if (p.cwd && /cwd/i.test(String(result.message))) {
      return new RunbookError(`cannot start the command: working directory ${p.cwd} does not exist or is not a directory`, {
        hint: 'fix shell.cwd',
      });
    }
    return new RunbookError(`cannot start the command: ${cause?.message ?? result.shortMessage ?? result.message}`);
  }
  if (result.exitCode === 127) {
    return new RunbookError(`command not found: ${firstWord(p.command)} (exit 127)${lastErr}`, {
      hint: `install ${firstWord(p.command)} or put it on PATH (or use its full path) on the machine that runs pgrunbook`,
    });
  }
  if (result.exitCode === 126) {
    return new RunbookError(
      `command cannot be executed: ${firstWord(p.command)} (exit 126, not executable or permission denied)${lastErr}`,
      {
        hint: `check the file's permissions (chmod +x) and that it is a program`,
      },
    );
  }
  if (result.exitCode !== 0) {
    return new RunbookError(`shell command failed with exit code ${result.exitCode}${lastErr}`, {
      hint: 'the full output is in the step log; fix the cause, then resume',
    });
  }
  return undefined;
}

export const shellKind: StepKind<ShellParams> = {
  kind: 'shell',
  schema,
  shellFields: ['', 'command'],

  plan(step) {
    const p = step.params;
    const where = [p.cwd ? `in ${p.cwd}` : '', p.timeout ? `timeout ${formatDuration(p.timeout)}` : ''].filter(Boolean).join(', ');
    return {
      statements: [],
      locks: [],
      reversible: step.rollback !== undefined,
      ...(step.rollback === undefined
        ? {
            irreversibleReason:
              'a shell command cannot be undone automatically (give the step rollback: SQL, or add a rollback-phase step)',
          }
        : {}),
      notes: [`runs: ${p.command}${where ? ` (${where})` : ''}`],
    };
  },

  apply(step, ctx) {
    return runShell(step.params, { emit: ctx.emit, signal: ctx.signal, clock: ctx.clock, stepId: step.id });
  },
};
