// squawk (squawk-cli) as a second opinion: run it on the same SQL, map its 0-based line/column
// positions onto our statements, and return its findings marked as squawk's.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Finding, SquawkStatus } from './analysis-types.js';

const require = createRequire(import.meta.url);

/** The native squawk binary (skipping the node wrapper), or undefined when not installed. */
export function squawkBinary(): string | undefined {
  const env = process.env.PGRUNBOOK_SQUAWK;
  if (env) return existsSync(env) ? env : undefined;
  const pkg = `@squawk-cli/${process.platform}-${process.arch}`;
  try {
    const p = require.resolve(`${pkg}/bin/${process.platform === 'win32' ? 'squawk.exe' : 'squawk'}`);
    if (existsSync(p)) return p;
  } catch {
    /* fall through to the wrapper */
  }
  try {
    const root = dirname(require.resolve('squawk-cli/package.json'));
    const wrapper = join(root, 'js', 'bin', 'squawk');
    return existsSync(wrapper) ? wrapper : undefined;
  } catch {
    return undefined;
  }
}

interface SquawkRaw {
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

export interface SquawkRun {
  status: SquawkStatus;
  /** Findings by index of the statement they point into. */
  byStatement: Map<number, Finding[]>;
}

export interface SquawkOptions {
  pgMajor?: number;
  /** squawk rules to leave out (e.g. require-lock-timeout when the runner sets one). */
  exclude?: string[];
  timeoutMs?: number;
}

export async function runSquawk(sql: string, statementOffsets: number[], opts: SquawkOptions = {}): Promise<SquawkRun> {
  const byStatement = new Map<number, Finding[]>();
  const bin = squawkBinary();
  if (!bin) {
    return {
      status: { ran: false, error: 'squawk is not installed (package squawk-cli); continuing without its second opinion' },
      byStatement,
    };
  }
  const args = ['--reporter', 'json', '--stdin-filepath', 'input.sql'];
  if (opts.pgMajor) args.push(`--pg-version=${opts.pgMajor}.0`);
  if (opts.exclude?.length) args.push(`--exclude=${opts.exclude.join(',')}`);
  let out: { code: number | null; stdout: string; stderr: string };
  try {
    out = await run(bin, args, sql, opts.timeoutMs ?? 20_000);
  } catch (err) {
    return { status: { ran: false, error: `squawk could not run: ${(err as Error).message}` }, byStatement };
  }
  let raw: SquawkRaw[];
  try {
    raw = JSON.parse(out.stdout.trim() || '[]');
  } catch {
    return {
      status: { ran: false, error: `squawk exited with ${out.code}: ${out.stderr.trim().slice(0, 300) || 'unreadable output'}` },
      byStatement,
    };
  }
  const lineStarts = [0];
  for (let i = 0; i < sql.length; i++) if (sql.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const unmapped: Finding[] = [];
  for (const r of raw) {
    const f: Finding = {
      rule: r.rule_name,
      severity: /error/i.test(r.level) ? 'error' : 'warning',
      message: r.message,
      ...(r.help ? { safe_alternative: r.help } : {}),
      source: 'squawk',
    };
    const pos = offsetOf(sql, lineStarts, r.line, r.column);
    const idx = statementAt(statementOffsets, pos);
    if (idx === undefined) unmapped.push(f);
    else {
      const list = byStatement.get(idx) ?? [];
      list.push(f);
      byStatement.set(idx, list);
    }
  }
  return { status: { ran: true, version: await squawkVersion(bin), ...(unmapped.length ? { unmapped } : {}) }, byStatement };
}

/** squawk columns count UTF-8 bytes within the line. */
function offsetOf(sql: string, lineStarts: number[], line: number, column: number): number {
  const start = lineStarts[Math.min(Math.max(line, 0), lineStarts.length - 1)] ?? 0;
  const end = lineStarts[line + 1] ?? sql.length;
  const lineText = sql.slice(start, end);
  const bytes = Buffer.from(lineText, 'utf8');
  const chars = bytes.subarray(0, Math.max(0, column)).toString('utf8').length;
  return start + Math.min(chars, lineText.length);
}

function statementAt(offsets: number[], pos: number): number | undefined {
  if (offsets.length === 0) return undefined;
  let idx = 0;
  for (let i = 0; i < offsets.length; i++) if (offsets[i]! <= pos) idx = i;
  return idx;
}

let cachedVersion: string | undefined;
async function squawkVersion(bin: string): Promise<string | undefined> {
  if (cachedVersion) return cachedVersion;
  try {
    const r = await run(bin, ['--version'], '', 5000);
    cachedVersion = r.stdout.trim().replace(/^squawk\s*/, '') || undefined;
  } catch {
    cachedVersion = undefined;
  }
  return cachedVersion;
}

function run(
  bin: string,
  args: string[],
  input: string,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const isScript = bin.endsWith('.js') || /js[\\/]bin[\\/]squawk$/.test(bin);
    const child = isScript ? spawn(process.execPath, [bin, ...args]) : spawn(bin, args);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
