// pgrunbook init --from SOURCE [-o runbook.yaml] [--db URL] [--format F] [--only ID,...] [--explain] [--verify]
// Turns the migrations a team already has (a .sql file, stdin, or a migration tool's folder) into a
// safe, explained runbook. With --db only the pending migrations (from the tool's history table)
// are taken and the verdicts use the live catalog; the database is only read.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError, RunbookError } from '../../util/runbook-error.js';
import { createPool, explainConnectionError, serverVersion } from '../../pg/connection.js';
import { DEFAULT_MAJOR, EmbeddedServer } from '../../pg/embedded-server.js';
import { sandboxMajor } from '../../init/sandbox-major.js';
import { rollbackGaps } from '../../init/rollback-gaps.js';
import { INTROSPECTION_SESSION } from '../../pg/connection.js';
import { LiveCatalog } from '../../analyze/live-catalog.js';
import { loadParser } from '../../pg/sqlparse.js';
import { loadRunbookText } from '../../runbook/load.js';
import { newRunner, rehearse, STEP_KINDS } from '../composition-root.js';
import { projectionRange } from '../../rehearsal/projection.js';
import type { Runbook } from '../../runbook/model.js';
import { buildRunbook, type BuildResult } from '../../init/build-runbook.js';
import { explainTable, summarize } from '../../init/explain.js';
import { type RewriteRow, SOURCE_FORMATS, type SourceFormat } from '../../init/init-types.js';
import type { CiFinding } from '../../report/ci/ci-findings.js';
import { writeCi } from '../ci-output.js';
import { readText } from '../../init/sources/source-files.js';
import { LEFT_OUT, verifyRunbook } from '../../init/verify.js';
import { applyLiveSchema, readLiveSchema } from '../../init/live-schema.js';
import { redact } from '../../util/secrets.js';
import { oneLine } from '../../util/units.js';
import { parsePgVersion } from './analyze-command.js';
import { connectionOrExit } from './run-command.js';

export interface InitOptions {
  from: string;
  out?: string;
  format?: string;
  db?: string;
  pgVersion?: string;
  only?: string;
  explain?: boolean;
  verify?: boolean;
  schema?: string;
}

export interface InitIO {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
}

const defaultIO: InitIO = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

export async function initCommand(o: InitOptions, io: InitIO = defaultIO): Promise<number> {
  // --format is the source layout, or github/gitlab: the rewrite table as CI annotations.
  const ci = o.format === 'github' || o.format === 'gitlab' ? o.format : undefined;
  if (o.format && !ci && !SOURCE_FORMATS.includes(o.format as SourceFormat))
    throw new InputError(`--format ${o.format}: unknown`, `one of ${[...SOURCE_FORMATS, 'github', 'gitlab'].join(', ')}`);
  const versionFlag = parsePgVersion(o.pgVersion);
  await loadParser();
  const only = o.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const common = {
    from: o.from,
    format: ci ? undefined : (o.format as SourceFormat | undefined),
    only,
    outFile: o.out,
    versionNum: versionFlag ?? DEFAULT_MAJOR * 10000,
    stdin: io.readStdin,
    kinds: STEP_KINDS,
  };
  let built: BuildResult;
  let dbVersionNum: number | undefined;
  if (o.db) {
    const spec = connectionOrExit(o.db);
    const pool = createPool(spec, { applicationName: 'pgrunbook:init', max: 2, sessionSettings: { ...INTROSPECTION_SESSION } });
    try {
      let versionNum: number;
      try {
        versionNum = (await serverVersion(pool)).num;
      } catch (err) {
        throw new RunbookError(explainConnectionError(err, spec), { hint: 'or convert offline: drop --db (all migrations, or --only)' });
      }
      dbVersionNum = versionNum;
      built = await buildRunbook({ ...common, db: { pool, catalog: new LiveCatalog(pool), versionNum } });
    } finally {
      await pool.end().catch(() => {});
    }
  } else built = await buildRunbook(common);

  for (const n of built.notes) io.err(`note: ${redact(n)}\n`);
  if (ci) {
    await writeCi(ci, `pgrunbook init --from ${o.from}`, rewriteFindings(built.rows), io.out, `${summarize(built.rows)}\n`);
    return 0;
  }
  if (o.explain) {
    io.out(explainTable(built.rows));
    return 0;
  }
  if (o.out) await writeFile(o.out, built.yaml);
  else io.out(built.yaml);
  io.err(`${built.summary}${o.out ? ` Wrote ${o.out}.` : ''}\n`);
  if (o.verify) return verify(built, o, io, sandboxMajor(versionFlag, dbVersionNum));
  return 0;
}

/**
 * Where the two sandbox databases start: with --db (and no --schema), the target database's own
 * schema; otherwise --schema plus the folder's migrations before the converted ones.
 */
async function startingSchema(
  built: BuildResult,
  o: InitOptions,
): Promise<{ base: string[]; prepare?: (url: string) => Promise<void>; what: string }> {
  if (o.db && !o.schema) {
    const spec = connectionOrExit(o.db);
    const { dump, tables } = await readLiveSchema(spec.connectionString);
    return {
      base: [],
      prepare: async (url) => void (await applyLiveSchema(url, dump)),
      what: `the schema of the --db database (${tables} tables and views, no rows)`,
    };
  }
  const base = [...(o.schema ? [await readText(o.schema)] : []), ...built.before.map((m) => m.up.sql)];
  const earlier = built.before.length ? ` plus the ${built.before.length} earlier migration(s)` : '';
  return { base, what: `${o.schema ?? 'an empty database'}${earlier}` };
}

async function verify(built: BuildResult, o: InitOptions, io: InitIO, chosen: { major?: number; why: string }): Promise<number> {
  const { major } = chosen;
  if (major === undefined)
    throw new RunbookError('--verify needs an embedded PostgreSQL and none is installed', {
      hint: 'run `npm ci` in the pgrunbook checkout',
      exitCode: 2,
    });
  const { runbook } = await loadRunbookText(built.yaml, o.out ?? 'runbook.yaml', { kinds: STEP_KINDS });
  const start = await startingSchema(built, o);
  io.err(`verify: naive migration and runbook on two databases of an embedded PostgreSQL ${major} (${chosen.why}), from ${start.what}\n`);
  const server = await EmbeddedServer.start({ major, settings: { log_min_messages: 'fatal' } });
  try {
    const r = await verifyRunbook({
      adminUrl: server.localUrl(),
      base: start.base,
      prepare: start.prepare,
      naive: built.chosen.map((m) => m.up.sql),
      runbook: runbook!,
      newRunner,
      skipSteps: built.recordStepId ? [built.recordStepId] : [],
    });
    if (r.naiveError) io.err(`verify: the naive migration fails on its own: ${r.naiveError}\n`);
    if (r.runbookError) io.err(`verify: the runbook failed: ${r.runbookError}\n`);
    for (const l of r.diff.removed) io.err(`verify: only after the naive migration: ${l}\n`);
    for (const l of r.diff.added) io.err(`verify: only after the runbook: ${l}\n`);
    io.err(r.same ? 'verify: same end schema (column order not compared)\n' : 'verify: the end schemas differ\n');
    io.err(`verify: ${LEFT_OUT}\n`);
    const rehearsed = o.db && r.same ? await rehearseOnSample(runbook!, o.db, io) : true;
    return r.same && rehearsed ? 0 : 1;
  } finally {
    await server.stop();
  }
}

const SAMPLE_PCT = 1;

/**
 * With --db: the runbook's test phase, `pgrunbook rehearse` on a sample of the target (the source is
 * only read, plus the projection it records). `unused` steps are left out: a sandbox has no workload.
 * True when the deploy completed; the rollback's verdict is reported (a contract step that drops data
 * cannot be rolled back past, and the rehearsal says so).
 */
async function rehearseOnSample(runbook: Runbook, db: string, io: InitIO): Promise<boolean> {
  const spec = connectionOrExit(db);
  const deploy = runbook.phases.deploy.filter((s) => s.kind !== 'unused');
  io.err(`verify: rehearsing the runbook on a ${SAMPLE_PCT}% sample of the --db database\n`);
  const r = await rehearse({
    runbook: { ...runbook, phases: { ...runbook.phases, deploy } },
    sourceUrl: spec.connectionString,
    samplePct: SAMPLE_PCT,
    log: (m) => io.err(`verify: ${redact(m)}\n`),
  });
  const ok = r.deploy.status === 'completed';
  io.err(
    `verify: rehearsal on ${r.sandbox.description}: deploy ${r.deploy.status}, rollback ${r.rollbackVerified ? 'verified' : 'NOT verified'}; ` +
      `projected deploy on the --db database ${r.projection.total_seconds.toFixed(1)} s (range ${projectionRange(r.projection)})\n`,
  );
  for (const w of r.warnings) io.err(`verify: rehearsal warning: ${redact(w)}\n`);
  if (!r.rollbackVerified) for (const g of rollbackGaps(runbook)) io.err(`verify: rollback NOT verified because ${redact(g)}\n`);
  if (!ok) io.err('verify: the deploy failed in the rehearsal; run `pgrunbook rehearse` on the runbook to see each step\n');
  return ok;
}

/** One finding per statement at its source line: rewritten and held ones warn, kept ones are notices. */
function rewriteFindings(rows: RewriteRow[]): CiFinding[] {
  return rows.map((r) => ({
    ...(r.file === 'stdin' ? {} : { file: r.file }),
    line: r.line,
    col: r.col,
    severity: r.verdict === 'rewritten' || r.verdict === 'held' ? 'warning' : 'info',
    title: `pgrunbook init: ${r.verdict}${r.kinds.length ? ` as ${r.kinds.join(' + ')}` : ''}`,
    message: `${r.reason}${r.lockBefore ? `\nLock: ${r.lockBefore} → ${r.lockAfter ?? r.lockBefore}` : ''}\n${oneLine(r.statement, 200)}`,
    key: `init|${r.verdict}|${r.statement}`,
  }));
}

export function register(program: Command): void {
  program
    .command('init')
    .description('turn a naive migration (file, stdin or a migration tool folder) into a safe, explained runbook')
    .requiredOption(
      '--from <source>',
      'a .sql file, - for standard input, or a Sqitch/Flyway/golang-migrate/dbmate/Prisma/node-pg-migrate/numbered folder',
    )
    .option('-o, --out <file>', 'write the runbook here (default: standard output)')
    .option(
      '--format <format>',
      `override the detected layout (${SOURCE_FORMATS.join(', ')}), or github / gitlab: the rewrite table as CI annotations (GitHub workflow commands + job summary, GitLab Code Quality JSON) instead of a runbook`,
    )
    .option('--db <url>', 'read the live catalog and the tool’s history table (only pending migrations); only reads')
    .option('--pg-version <major>', 'PostgreSQL major version to convert for when there is no --db')
    .option('--only <ids>', 'only these migrations (comma-separated ids or names)')
    .option('--explain', 'print the rewrite table instead of writing a runbook')
    .option('--verify', 'prove it: run the naive migration and the runbook on two sandbox databases and compare the end schemas')
    .option(
      '--schema <file>',
      "with --verify: SQL for the starting schema (default: the --db database's schema, else empty plus the earlier migrations of the folder)",
    )
    .action(async (o: InitOptions) => {
      process.exitCode = await initCommand(o);
    });
}
