// Entry point: SQL text -> per-statement predictions (locks, rewrite, scan, transactional,
// findings). Never executes the statements: a live catalog is only read.
import { DEFAULT_MAJOR } from '../pg/embedded-server.js';
import { lineColAt, loadParser, parseStatements, type ParsedStatement } from '../pg/sqlparse.js';
import { LOCK_STRENGTH } from '../pg/lock-modes.js';
import type { Catalog } from './analysis-catalog.js';
import { StatementContext, type Session } from './context.js';
import { SchemaState } from './schema-state.js';
import { runSquawk, type SquawkOptions } from './squawk.js';
import type { AnalysisReport, StatementAnalysis } from './analysis-types.js';
import { analyzeAlterTable } from './alter-table.js';
import { analyzeCreateIndex, analyzeReindex } from './indexes.js';
import { analyzeCluster, analyzeRefreshMatview, analyzeTruncate, analyzeVacuum } from './maintenance.js';
import {
  analyzeAlterEnum,
  analyzeComment,
  analyzeCreateTable,
  analyzeCreateTableAs,
  analyzeCreateTrigger,
  analyzeCreateView,
  analyzeDrop,
  analyzeGrant,
  analyzeRename,
  analyzeSetSchema,
  NO_TABLE_LOCK,
} from './other-ddl.js';
import { analyzeCopy, analyzeDelete, analyzeInsert, analyzeLock, analyzeMerge, analyzeSelect, analyzeUpdate } from './dml.js';
import { sqlModeName } from './locks.js';
import { robustnessFinding } from './robust.js';
import { attachSteps } from './suggest-step.js';
import { analyzeAlterDomain } from './domains.js';
import { analyzeAlterSequence, analyzeCreateSequence, lockSequenceCalls } from './sequences.js';
import { analyzeCreateStatistics, analyzePublication, lockTableExclusively } from './table-objects.js';
import { walk } from './ast.js';

export interface AnalyzeOptions {
  /** Live catalog (--db). */
  catalog?: Catalog;
  /** server_version_num from the server or --pg-version. */
  serverVersionNum?: number;
  versionSource?: AnalysisReport['versionSource'];
  /** Session TimeZone of the connection that will run the statements. */
  timeZone?: string;
  /** The runner sets lock_timeout for every statement (plan/run); suppresses that finding. */
  lockTimeout?: boolean;
  /** Run squawk as a second opinion (default true). */
  squawk?: boolean | SquawkOptions;
  /** Continue from earlier statements' effects (plan analyzes steps one after another). */
  state?: SchemaState;
  /** Line/column offset when the SQL is embedded in a larger file. */
  basePos?: { line: number; col: number };
}

export function versionNumFor(major: number): number {
  return major * 10000;
}

export async function analyzeSql(sql: string, opts: AnalyzeOptions = {}): Promise<AnalysisReport> {
  await loadParser();
  const parsed = parseStatements(sql);
  const versionNum = opts.serverVersionNum ?? versionNumFor(DEFAULT_MAJOR);
  const session: Session = {
    versionNum,
    versionKnown: opts.serverVersionNum !== undefined,
    state: opts.state ?? new SchemaState(opts.catalog),
    catalog: opts.catalog,
    timeZone: opts.timeZone,
    lockTimeout: !!opts.lockTimeout,
    inTransactionBlock: false,
  };
  const statements: StatementAnalysis[] = [];
  for (let i = 0; i < parsed.length; i++) statements.push(await analyzeStatement(parsed[i]!, i, sql, session, opts.basePos));

  const report: AnalysisReport = {
    server_version: versionNum,
    versionSource: opts.versionSource ?? (opts.serverVersionNum !== undefined ? '--pg-version' : 'default'),
    catalog: opts.catalog?.live ? 'live' : 'none',
    ...(opts.timeZone ? { timeZone: opts.timeZone } : {}),
    statements,
    squawk: { ran: false },
    uncertain: [],
  };
  if (!opts.catalog?.live) {
    report.uncertain.push(
      'no --db: column types, constraints, indexes, partitions, table sizes and function volatility are unknown; where they matter the prediction assumes the common case and says so',
    );
  }
  if (opts.serverVersionNum === undefined) report.uncertain.push(`no --db or --pg-version: assuming PostgreSQL ${DEFAULT_MAJOR}`);
  if (!opts.timeZone && !opts.catalog?.live) report.uncertain.push('session TimeZone unknown (matters only for timestamp <-> timestamptz)');

  if (opts.squawk !== false && parsed.length > 0) {
    const sq = await runSquawk(
      sql,
      parsed.map((p) => p.offset),
      {
        pgMajor: Math.floor(versionNum / 10000),
        ...(typeof opts.squawk === 'object' ? opts.squawk : {}),
      },
    );
    report.squawk = sq.status;
    for (const [idx, list] of sq.byStatement) statements[idx]?.findings.push(...list);
  }
  return report;
}

export async function analyzeStatement(
  p: ParsedStatement,
  index: number,
  sql: string,
  session: Session,
  basePos?: { line: number; col: number },
): Promise<StatementAnalysis> {
  const ctx = new StatementContext(session);
  walk(p.ast, (k, v) => {
    if (k === 'CommonTableExpr' && v.ctename) ctx.cteNames.add(v.ctename);
  });
  let transactional = p.transactional;
  const override = await dispatch(p.node, p.ast, ctx);
  if (override?.transactional !== undefined) transactional = override.transactional;
  if (EXECUTES_EXPRESSIONS.has(p.node)) await lockSequenceCalls(p.ast, ctx);
  robustnessFinding(p.node, p.ast, ctx);

  if (!transactional && session.inTransactionBlock) {
    ctx.finding('not-in-transaction-block', `${describe(p)} cannot run inside a transaction block, and this script opened one with BEGIN.`);
  }
  attachSteps(ctx.findings, { node: p.node, ast: p.ast, sql: p.sql, offset: p.offset });
  // Session effects come after the statement itself.
  trackSession(p, session);

  const locks = ctx.locks.list();
  const strongest = ctx.locks.strongest();
  const onExisting = locks.some(
    (l) =>
      LOCK_STRENGTH[l.mode] >= LOCK_STRENGTH.ShareLock && !session.state.createdInScript(splitRel(l.relation)) && l.relkind !== 'index',
  );
  if (strongest && onExisting && !session.lockTimeout) {
    ctx.finding(
      'lock-timeout-missing',
      `No lock_timeout is set: while this waits for ${sqlModeName(strongest)} it queues every conflicting query behind it.`,
    );
  }
  const rewritten = [...ctx.rewritten];
  // A rewrite that copies rows reads them all: it is reported as a scan too (JSON contract).
  const scanned = [...ctx.scanned];
  let { line, col } = lineColAt(sql, p.offset);
  if (basePos) {
    if (line === 1) col += basePos.col - 1;
    line += basePos.line - 1;
  }
  return {
    index,
    sql: p.sql,
    line,
    col,
    offset: p.offset,
    node: p.node,
    locks,
    rewrite: rewritten.length > 0,
    tableScan: scanned.length > 0,
    transactional,
    findings: ctx.findings,
    uncertain: ctx.uncertain,
    notes: ctx.notes,
    sizeDriver: [...new Set([...rewritten, ...scanned])],
    work: ctx.work,
  };
}

function splitRel(text: string): { schema?: string; name: string } {
  const i = text.indexOf('.');
  return i > 0 && !text.startsWith('"') ? { schema: text.slice(0, i), name: text.slice(i + 1) } : { name: text };
}

function describe(p: ParsedStatement): string {
  return p.sql
    .split(/\s+/)
    .slice(0, 4)
    .join(' ')
    .replace(/[;(].*$/, '');
}

/** Statements whose expressions run (a nextval() in them takes its lock); DDL only stores them. */
const EXECUTES_EXPRESSIONS = new Set([
  'SelectStmt',
  'InsertStmt',
  'UpdateStmt',
  'DeleteStmt',
  'MergeStmt',
  'CreateTableAsStmt',
  'CallStmt',
]);

type Analyzer = (ast: any, ctx: StatementContext) => Promise<{ transactional?: boolean } | void> | { transactional?: boolean } | void;

/** The analyzer of each modeled statement node; statements that take no lock map to a no-op. */
const ANALYZERS = new Map<string, Analyzer>([
  ['AlterTableStmt', analyzeAlterTable],
  ['IndexStmt', analyzeCreateIndex],
  ['DropStmt', analyzeDrop],
  ['ReindexStmt', analyzeReindex],
  ['VacuumStmt', analyzeVacuum],
  ['ClusterStmt', analyzeCluster],
  ['TruncateStmt', analyzeTruncate],
  ['RefreshMatViewStmt', analyzeRefreshMatview],
  ['CreateTrigStmt', analyzeCreateTrigger],
  ['AlterEnumStmt', analyzeAlterEnum],
  ['CreateStmt', analyzeCreateTable],
  ['ViewStmt', analyzeCreateView],
  ['CreateTableAsStmt', analyzeCreateTableAs],
  ['CommentStmt', analyzeComment],
  ['GrantStmt', analyzeGrant],
  ['RenameStmt', analyzeRename],
  ['AlterObjectSchemaStmt', analyzeSetSchema],
  ['CreatePolicyStmt', (ast, ctx) => lockTableExclusively(ast.table, ctx)],
  ['UpdateStmt', analyzeUpdate],
  ['DeleteStmt', analyzeDelete],
  ['InsertStmt', analyzeInsert],
  ['MergeStmt', analyzeMerge],
  ['SelectStmt', analyzeSelect],
  ['CopyStmt', analyzeCopy],
  ['LockStmt', analyzeLock],
  ['AlterDomainStmt', analyzeAlterDomain],
  ['AlterSeqStmt', analyzeAlterSequence],
  ['CreateSeqStmt', analyzeCreateSequence],
  ['CreateStatsStmt', analyzeCreateStatistics],
  ['RuleStmt', (ast, ctx) => lockTableExclusively(ast.relation, ctx)],
  ['AlterPolicyStmt', (ast, ctx) => lockTableExclusively(ast.table, ctx)],
  ['CreatePublicationStmt', analyzePublication],
  ['AlterPublicationStmt', analyzePublication],
  ['ExplainStmt', analyzeExplain],
  ['TransactionStmt', () => {}],
  ['VariableSetStmt', () => {}],
  ['VariableShowStmt', () => {}],
]);

async function dispatch(node: string, ast: any, ctx: StatementContext): Promise<{ transactional?: boolean } | void> {
  const analyze = ANALYZERS.get(node);
  if (analyze) return analyze(ast, ctx);
  if (NO_TABLE_LOCK.has(node)) {
    ctx.setWork('catalog');
    return;
  }
  ctx.unmodeled = true;
  ctx.setWork('unknown');
  ctx.finding('not-modeled', `${node.replace(/Stmt$/, '')} is not modeled: its locks, rewrites and scans are not predicted.`);
  ctx.doubt(`${node.replace(/Stmt$/, '')}: not modeled`);
}

async function analyzeExplain(ast: any, ctx: StatementContext): Promise<void> {
  const inner = ast.query ?? {};
  const node = Object.keys(inner)[0];
  if (!node) return;
  const analyzeOpt = (ast.options ?? []).some((o: any) => o.DefElem?.defname === 'analyze');
  if (analyzeOpt) {
    await dispatch(node, inner[node], ctx);
    ctx.note('EXPLAIN ANALYZE executes the statement');
    return;
  }
  // Planning takes the statement's locks but reads and writes nothing.
  const probe = new StatementContext({ ...ctx.session, state: ctx.session.state });
  await dispatch(node, inner[node], probe);
  for (const l of probe.locks.list()) ctx.lock(l.relation, l.mode, { relkind: l.relkind, why: 'taken while planning' });
  ctx.setWork('catalog');
}

function trackSession(p: ParsedStatement, s: Session): void {
  if (p.transactionControl === 'begin') s.inTransactionBlock = true;
  else if (p.transactionControl === 'commit' || p.transactionControl === 'rollback') s.inTransactionBlock = false;
  if (p.node !== 'VariableSetStmt') return;
  const name = String(p.ast.name ?? '').toLowerCase();
  const arg = p.ast.args?.[0]?.A_Const;
  const value = arg?.sval?.sval ?? (arg?.ival ? String(arg.ival.ival ?? 0) : arg ? '0' : undefined);
  const reset = p.ast.kind === 'VAR_RESET' || p.ast.kind === 'VAR_SET_DEFAULT' || p.ast.kind === 'VAR_RESET_ALL';
  if (name === 'lock_timeout' || p.ast.kind === 'VAR_RESET_ALL') {
    if (reset) s.lockTimeout = false;
    else s.lockTimeout = value !== undefined && !/^0+(ms|s)?$/.test(value.trim());
  }
  if (name === 'timezone' || p.ast.kind === 'VAR_RESET_ALL') {
    if (reset) s.timeZone = undefined;
    else if (value !== undefined) s.timeZone = value;
  }
}
