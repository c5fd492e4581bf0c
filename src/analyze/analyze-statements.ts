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

async function dispatch(node: string, ast: any, ctx: StatementContext): Promise<{ transactional?: boolean } | void> {
  switch (node) {
    case 'AlterTableStmt':
      return analyzeAlterTable(ast, ctx);
    case 'IndexStmt':
      return analyzeCreateIndex(ast, ctx);
    case 'DropStmt':
      return analyzeDrop(ast, ctx);
    case 'ReindexStmt':
      return analyzeReindex(ast, ctx);
    case 'VacuumStmt':
      return analyzeVacuum(ast, ctx);
    case 'ClusterStmt':
      return analyzeCluster(ast, ctx);
    case 'TruncateStmt':
      return analyzeTruncate(ast, ctx);
    case 'RefreshMatViewStmt':
      return analyzeRefreshMatview(ast, ctx);
    case 'CreateTrigStmt':
      return analyzeCreateTrigger(ast, ctx);
    case 'AlterEnumStmt':
      return analyzeAlterEnum(ast, ctx);
    case 'CreateStmt':
      return analyzeCreateTable(ast, ctx);
    case 'ViewStmt':
      return analyzeCreateView(ast, ctx);
    case 'CreateTableAsStmt':
      return analyzeCreateTableAs(ast, ctx);
    case 'CommentStmt':
      return analyzeComment(ast, ctx);
    case 'GrantStmt':
      return analyzeGrant(ast, ctx);
    case 'RenameStmt':
      return analyzeRename(ast, ctx);
    case 'AlterObjectSchemaStmt':
      return analyzeSetSchema(ast, ctx);
    case 'CreatePolicyStmt':
      return lockTableExclusively(ast.table, ctx);
    case 'UpdateStmt':
      return analyzeUpdate(ast, ctx);
    case 'DeleteStmt':
      return analyzeDelete(ast, ctx);
    case 'InsertStmt':
      return analyzeInsert(ast, ctx);
    case 'MergeStmt':
      return analyzeMerge(ast, ctx);
    case 'SelectStmt':
      return analyzeSelect(ast, ctx);
    case 'CopyStmt':
      return analyzeCopy(ast, ctx);
    case 'LockStmt':
      return analyzeLock(ast, ctx);
    case 'AlterDomainStmt':
      return analyzeAlterDomain(ast, ctx);
    case 'AlterSeqStmt':
      return analyzeAlterSequence(ast, ctx);
    case 'CreateSeqStmt':
      return analyzeCreateSequence(ast, ctx);
    case 'CreateStatsStmt':
      return analyzeCreateStatistics(ast, ctx);
    case 'RuleStmt':
      return lockTableExclusively(ast.relation, ctx);
    case 'AlterPolicyStmt':
      return lockTableExclusively(ast.table, ctx);
    case 'CreatePublicationStmt':
    case 'AlterPublicationStmt':
      return analyzePublication(ast, ctx);
    case 'ExplainStmt':
      return analyzeExplain(ast, ctx);
    case 'TransactionStmt':
    case 'VariableSetStmt':
    case 'VariableShowStmt':
      return;
  }
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
