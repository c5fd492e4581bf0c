// A real application load for the workload tests: pgbench running a custom script against a test
// database, as its own process so it competes with pgrunbook the way an application would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasPgbench(): boolean {
  return spawnSync('pgbench', ['--version']).status === 0;
}

export interface PgbenchRun {
  child: ChildProcess;
  /** Resolves when pgbench exits (after `seconds`, or when stopped). */
  done: Promise<number | null>;
  stop(): Promise<void>;
}

/** One of pgbench's per-second progress reports (`-P 1`): what the application measured. */
export interface PgbenchProgress {
  /** Wall-clock time the report arrived (ms). */
  at: number;
  tps: number;
  /** Mean latency of the transactions of that second, schedule lag included under a rate limit. */
  latMs: number;
}

/**
 * Starts `clients` pgbench clients running `script` for `seconds` (optionally at `rate` tps);
 * `onProgress` receives pgbench's own per-second latency reports.
 */
export function startPgbench(
  url: string,
  script: string,
  opts: { clients?: number; seconds: number; rate?: number; onProgress?: (p: PgbenchProgress) => void },
): PgbenchRun {
  if (!hasPgbench()) throw new Error('these tests need pgbench (Debian/Ubuntu: apt-get install postgresql-client)');
  const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-pgbench-'));
  const file = join(dir, 'load.sql');
  writeFileSync(file, script);
  const args = ['-n', '-f', file, '-c', String(opts.clients ?? 4), '-T', String(opts.seconds)];
  if (opts.rate) args.push('-R', String(opts.rate));
  if (opts.onProgress) args.push('-P', '1');
  // Where to connect goes in the environment: a password never belongs in a child's arguments.
  const u = new URL(url);
  const env = {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: u.pathname.slice(1),
  };
  const child = spawn('pgbench', args, { stdio: ['ignore', 'ignore', opts.onProgress ? 'pipe' : 'ignore'], env });
  if (opts.onProgress) {
    const report = opts.onProgress;
    let rest = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^progress: [\d.]+ s, ([\d.]+) tps, lat ([\d.]+) ms/.exec(line);
        if (m) report({ at: Date.now(), tps: Number(m[1]), latMs: Number(m[2]) });
      }
    });
  }
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    done,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await done;
    },
  };
}
