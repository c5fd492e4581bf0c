// pgrunbook analyze [FILE.sql | -] [--db URL] [--pg-version N] [--json]
// Predicts, per statement, the locks, rewrite, full scan, whether it may run in a transaction
// block, and findings with the safe alternative. Never executes the statements: with --db it only
// reads the catalog, in read-only sessions.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { analyzeSql } from '../../analyze/analyze-statements.js';
import { formatReport } from '../../analyze/analysis-text.js';
import type { AnalysisReport } from '../../analyze/analysis-types.js';
import { InputError, RunbookError } from '../../util/runbook-error.js';
import { createPool, explainConnectionError, serverVersion } from '../../pg/connection.js';
import { INTROSPECTION_SESSION } from '../../pg/connection.js';
import { LiveCatalog } from '../../analyze/live-catalog.js';
import { lineColAt, loadParser, SqlSyntaxError } from '../../pg/sqlparse.js';
import { redact, redactDeep } from '../../util/secrets.js';
import { connectionOrExit } from './run-command.js';
import { ciFormat, withCiFormat, writeCi } from '../ci-output.js';
import { analyzeFindings } from '../../report/ci/ci-findings.js';

export interface AnalyzeCommandOptions {
  db?: string;
  pgVersion?: string;
  json?: boolean;
  squawk?: boolean;
  format?: string;
  /** Exit 1 when a finding of this severity or worse is reported (CI). */
  failOn?: string;
}

export interface AnalyzeIO {
  out(text: string): void;
  readStdin(): Promise<string>;
  stdinIsTTY: boolean;
}

const defaultIO: AnalyzeIO = {
  out: (s) => void process.stdout.write(s),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  stdinIsTTY: !!process.stdin.isTTY,
};

const FAIL_LEVELS = ['warning', 'error'] as const;
type FailLevel = (typeof FAIL_LEVELS)[number];

export function parseFailOn(v: string | undefined): FailLevel | undefined {
  if (v === undefined) return undefined;
  if ((FAIL_LEVELS as readonly string[]).includes(v)) return v as FailLevel;
  throw new InputError(`--fail-on "${v}": expected warning or error`, 'warning fails on warnings and errors; error fails on errors only');
}

/** Findings at or above the level (squawk's included): the reason for exit code 1. */
export function failingFindings(report: AnalysisReport, level: FailLevel): number {
  const counts = (sev: string) => (level === 'warning' ? sev === 'warning' || sev === 'error' : sev === 'error');
  return (
    report.statements.flatMap((s) => s.findings).filter((f) => counts(f.severity)).length +
    (report.squawk.unmapped ?? []).filter((f) => counts(f.severity)).length
  );
}

export function parsePgVersion(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d{2})(?:\.\d+)?$/.exec(v.trim());
  const major = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(major) || major < 10 || major > 19) {
    throw new InputError(
      `--pg-version "${v}": expected a PostgreSQL major version such as 14 or 17`,
      'pgrunbook models PostgreSQL 14 to 18',
    );
  }
  return major * 10000;
}

/** Runs the command; returns the exit code (0; 1 when --fail-on finds a finding at its level; 2 for bad input). */
export async function analyzeCommand(file: string | undefined, opts: AnalyzeCommandOptions, io: AnalyzeIO = defaultIO): Promise<number> {
  const versionFlag = parsePgVersion(opts.pgVersion);
  const ci = ciFormat(opts.format, ['text', 'json']);
  const failOn = parseFailOn(opts.failOn);
  let sql: string;
  let label: string;
  if (!file || file === '-') {
    if (!file && io.stdinIsTTY)
      throw new InputError('no SQL given', 'pass a file (pgrunbook analyze migration.sql) or pipe SQL in (… | pgrunbook analyze -)');
    sql = await io.readStdin();
    label = 'stdin';
  } else {
    try {
      sql = await readFile(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new InputError(
        `${file}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message}`,
        'pass a .sql file, or - to read standard input',
      );
    }
    label = file;
  }
  await loadParser();
  let report: AnalysisReport;
  try {
    report = opts.db
      ? await analyzeLive(sql, opts.db, versionFlag, opts.squawk !== false)
      : await analyzeSql(sql, { serverVersionNum: versionFlag, squawk: opts.squawk !== false });
  } catch (err) {
    if (err instanceof SqlSyntaxError) {
      const { line, col } = lineColAt(sql, err.offset);
      throw new InputError(`${label}:${line}:${col}: ${err.message}`, 'fix the SQL; nothing was analyzed or run');
    }
    throw err;
  }
  const path = label === 'stdin' ? undefined : label;
  const json = opts.json || opts.format === 'json';
  // GitLab's report is the whole stdout; GitHub's annotations follow the usual text.
  if (ci !== 'gitlab') {
    if (json) io.out(JSON.stringify(redactDeep(report), null, 2) + '\n');
    else io.out(redact(formatReport(report, path)));
  }
  if (ci) await writeCi(ci, `pgrunbook analyze ${label}`, analyzeFindings(report, path), io.out);
  if (!failOn) return 0;
  const failing = failingFindings(report, failOn);
  if (failing === 0) return 0;
  // Only readable output gets the reason; JSON and CI reports stay machine-readable.
  if (!json && !ci) io.out(`--fail-on ${failOn}: ${failing} finding${failing === 1 ? '' : 's'} at that level or worse: exit 1\n`);
  return 1;
}

async function analyzeLive(sql: string, db: string, versionFlag: number | undefined, squawk: boolean): Promise<AnalysisReport> {
  const spec = connectionOrExit(db);
  const pool = createPool(spec, { applicationName: 'pgrunbook:analyze', max: 2, sessionSettings: { ...INTROSPECTION_SESSION } });
  try {
    let version: { num: number; text: string };
    let timeZone: string;
    try {
      version = await serverVersion(pool);
      timeZone = (await pool.query<{ tz: string }>(`SELECT current_setting('TimeZone') AS tz`)).rows[0]!.tz;
    } catch (err) {
      throw new RunbookError(explainConnectionError(err, spec), { hint: 'or analyze offline: drop --db and pass --pg-version N' });
    }
    const report = await analyzeSql(sql, {
      catalog: new LiveCatalog(pool),
      serverVersionNum: version.num,
      versionSource: 'server',
      timeZone,
      squawk,
    });
    if (versionFlag !== undefined && Math.floor(versionFlag / 10000) !== Math.floor(version.num / 10000)) {
      report.uncertain.push(`--pg-version ${Math.floor(versionFlag / 10000)} ignored: the server is PostgreSQL ${version.text}`);
    }
    return report;
  } finally {
    await pool.end().catch(() => {});
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('predict locks, rewrites and scans of SQL statements (never runs them)')
    .argument('[file]', 'SQL file, or - for standard input')
    .option('--db <url>', 'read the live catalog (types, constraints, indexes, volatility, TimeZone) from this database')
    .option('--pg-version <major>', 'PostgreSQL major version to analyze for when there is no --db')
    .option('--json', 'print the analysis as JSON')
    .option('--no-squawk', 'leave out squawk’s second opinion')
    .option('--fail-on <severity>', 'exit 1 when a finding of this severity or worse is reported: warning | error (for CI)');
  withCiFormat(cmd, ['text', 'json']).action(async (file: string | undefined, o: AnalyzeCommandOptions) => {
    process.exitCode = await analyzeCommand(file, o);
  });
}
