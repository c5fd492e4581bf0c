// Data changes and explicit locks: UPDATE, DELETE, INSERT, MERGE, SELECT, COPY, LOCK TABLE.
// DML takes ROW EXCLUSIVE on its target (which blocks only SHARE and stronger), but an UPDATE or
// DELETE without WHERE touches every row in one transaction: every row stays locked until commit,
// the table bloats by its own size and the WAL burst reaches the replicas at once. Foreign keys
// add work on the other side: a DELETE on a referenced table looks up (and, without an index,
// scans) each referencing table.
import type { LockMode } from '../pg/lock-modes.js';
import { columnRefName, conjuncts, rangeVar, rangeVarsIn, relText, strings, walk } from './ast.js';
import { unknownRelation, type TableInfo } from './analysis-catalog.js';
import type { StatementContext } from './context.js';
import type { WorkKind } from './analysis-types.js';
import { analyzeCreateTableAs, lockReadRelations } from './other-ddl.js';
import { formatCount } from './column-changes.js';
import { lockOwnedSequences } from './sequences.js';

/** pg_locks names by LOCK TABLE's numeric mode (lockdefs.h). */
const LOCK_BY_NUMBER: Record<number, LockMode> = {
  1: 'AccessShareLock',
  2: 'RowShareLock',
  3: 'RowExclusiveLock',
  4: 'ShareUpdateExclusiveLock',
  5: 'ShareLock',
  6: 'ShareRowExclusiveLock',
  7: 'ExclusiveLock',
  8: 'AccessExclusiveLock',
};

/** WITH x AS (UPDATE ... / DELETE ... / INSERT ...): each data-modifying CTE is a statement of its own. */
export async function analyzeModifyingCtes(withClause: any, ctx: StatementContext): Promise<void> {
  for (const c of withClause?.ctes ?? []) {
    const q = c?.CommonTableExpr?.ctequery;
    if (q?.UpdateStmt) await analyzeUpdate(q.UpdateStmt, ctx);
    else if (q?.DeleteStmt) await analyzeDelete(q.DeleteStmt, ctx);
    else if (q?.InsertStmt) await analyzeInsert(q.InsertStmt, ctx);
    else if (q?.MergeStmt) await analyzeMerge(q.MergeStmt, ctx);
  }
}

export async function analyzeUpdate(ast: any, ctx: StatementContext): Promise<void> {
  await analyzeModifyingCtes(ast.withClause, ctx);
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  ctx.lockWithChildren(name, info, 'RowExclusiveLock', 'partition (updated too)');
  await readOthers([ast.fromClause, ast.whereClause, ast.targetList, ast.withClause], name, ctx);
  await scanJoined(ast.fromClause, ast.whereClause, ctx);
  const setCols: string[] = (ast.targetList ?? []).map((t: any) => t.ResTarget?.name).filter(Boolean);
  decideRowScan(ast.whereClause, ast.relation, name, info, ctx, 'UPDATE');
  backfillStyle(ast.whereClause, setCols, name, info, ctx);
  if (info) {
    for (const c of info.constraints.values()) {
      if (c.type === 'foreign key' && c.refTable && c.columns.some((x) => setCols.includes(x))) {
        ctx.lock(c.refTable, 'RowShareLock', { relkind: 'table', why: `foreign key ${c.name} is checked for changed values` });
      }
    }
    for (const fk of info.incomingForeignKeys) {
      if (!fk.refColumns.some((x) => setCols.includes(x))) continue;
      ctx.lock(fk.table, 'RowShareLock', { relkind: 'table', why: `rows referencing changed keys are looked up (${fk.constraint})` });
      if (!fk.indexed) ctx.scan(fk.table, 'rows');
    }
  }
}

export async function analyzeDelete(ast: any, ctx: StatementContext): Promise<void> {
  await analyzeModifyingCtes(ast.withClause, ctx);
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  ctx.lockWithChildren(name, info, 'RowExclusiveLock', 'partition (deleted from too)');
  await readOthers([ast.usingClause, ast.whereClause, ast.withClause], name, ctx);
  await scanJoined(ast.usingClause, ast.whereClause, ctx);
  decideRowScan(ast.whereClause, ast.relation, name, info, ctx, 'DELETE');
  for (const fk of info?.incomingForeignKeys ?? []) {
    const mode: LockMode = fk.onDelete === 'a' || fk.onDelete === 'r' ? 'RowShareLock' : 'RowExclusiveLock';
    const action =
      fk.onDelete === 'c'
        ? 'deletes the referencing rows'
        : fk.onDelete === 'n' || fk.onDelete === 'd'
          ? 'updates the referencing rows'
          : 'checks for referencing rows';
    ctx.lock(fk.table, mode, { relkind: 'table', why: `${fk.constraint} ${action}` });
    if (!fk.indexed) {
      ctx.scan(fk.table, 'rows');
      ctx.finding(
        'foreign-key-unindexed',
        `${fk.table}(${fk.columns.join(', ')}) has no index: each row deleted from ${name} scans ${fk.table}.`,
      );
    }
  }
  if (unknownRelation(info)) ctx.unknownOnce(`which tables reference ${name} (a DELETE looks them up, and scans them when unindexed)`);
}

export async function analyzeInsert(ast: any, ctx: StatementContext): Promise<void> {
  await analyzeModifyingCtes(ast.withClause, ctx);
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  ctx.lock(name, 'RowExclusiveLock', { table: info });
  for (const p of info?.partitions ?? []) ctx.lock(p, 'RowExclusiveLock', { relkind: 'table', why: 'partition (rows are routed to it)' });
  const read = await readOthers([ast.selectStmt, ast.withClause], name, ctx);
  for (const r of read) ctx.scan(r, 'rows');
  if (read.length) ctx.doubt('how much of each source table the INSERT ... SELECT reads depends on its plan (assumed a full read)');
  // A foreign key is checked only for rows whose key columns are not NULL: with a column list
  // that leaves them out (and no default), nothing is looked up.
  const listed: string[] = (ast.cols ?? []).map((c: any) => c.ResTarget?.name).filter(Boolean);
  // A serial or identity column left out of the column list is filled by nextval() on its sequence.
  for (const seq of info?.ownedSequences ?? []) {
    if (listed.length && !listed.includes(seq.column))
      lockOwnedSequences(ctx, info, 'RowExclusiveLock', `nextval() for ${seq.column}`, seq.column);
  }
  for (const c of info?.constraints.values() ?? []) {
    if (c.type !== 'foreign key' || !c.refTable) continue;
    if (listed.length && !c.columns.some((k) => listed.includes(k))) continue;
    ctx.lock(c.refTable, 'RowShareLock', { relkind: 'table', why: `foreign key ${c.name} is checked for each new row` });
  }
  ctx.setWork('rows');
}

export async function analyzeMerge(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  ctx.requires(15, 'MERGE');
  const { name, info } = await ctx.table(rel);
  ctx.lockWithChildren(name, info, 'RowExclusiveLock', 'partition (merged into too)');
  await readOthers([ast.sourceRelation, ast.joinCondition], name, ctx);
  await scanJoined([ast.sourceRelation], ast.joinCondition, ctx);
  if (!constantFilterOnIndex(ast.joinCondition, relationNames(ast.relation), info))
    for (const d of ctx.dataTables(name, info)) ctx.scan(d, 'rows');
  ctx.doubt('how many rows MERGE touches depends on the join');
  ctx.setWork('rows');
}

export async function analyzeSelect(ast: any, ctx: StatementContext): Promise<void> {
  // SELECT ... INTO new_table is CREATE TABLE AS.
  if (ast.intoClause)
    return analyzeCreateTableAs(
      { query: { SelectStmt: { ...ast, intoClause: undefined } }, into: ast.intoClause, objtype: 'OBJECT_TABLE' },
      ctx,
    );
  await analyzeModifyingCtes(ast.withClause, ctx);
  const locking = (ast.lockingClause ?? []).map((l: any) => l.LockingClause).filter(Boolean);
  const read = await lockReadRelations(ast, ctx, 'read by the query');
  if (locking.length) {
    const targeted = new Set<string>();
    for (const l of locking)
      for (const r of l.lockedRels ?? []) {
        const rv = rangeVar(r.RangeVar);
        if (rv) targeted.add(relText(rv));
      }
    for (const r of read)
      if (targeted.size === 0 || targeted.has(r)) ctx.lock(r, 'RowShareLock', { relkind: 'table', why: 'SELECT ... FOR UPDATE/SHARE' });
  }
  if (await minMaxFromIndex(ast, ctx)) return;
  // A read: one pass over what it scans (a modifying CTE above already set its own work).
  await scanJoined(ast.fromClause, ast.whereClause, ctx, 'scan');
}

/**
 * `SELECT max(id), min(id) FROM t` (wrapped in casts or coalesce or not): with a btree on each
 * column the server reads one end of the index per aggregate, not the table.
 */
async function minMaxFromIndex(ast: any, ctx: StatementContext): Promise<boolean> {
  const from = ast.fromClause ?? [];
  if (from.length !== 1 || ast.whereClause || ast.groupClause || ast.havingClause || ast.distinctClause) return false;
  const rel = rangeVar(from[0]?.RangeVar);
  if (!rel || (!rel.schema && ctx.cteNames.has(rel.name))) return false;
  const calls: any[] = [];
  let columnRefs = 0;
  walk(ast.targetList, (k, v) => {
    if (k === 'FuncCall') calls.push(v);
    if (k === 'ColumnRef') columnRefs++;
  });
  const cols = calls.map((f) => {
    const name = strings(f.funcname).at(-1);
    return (name === 'min' || name === 'max') && f.args?.length === 1 && !f.agg_distinct && !f.agg_filter && !f.over
      ? columnRefName(f.args[0])
      : undefined;
  });
  // Every column read is the argument of a min() or max(), and nothing else is called.
  if (cols.length === 0 || cols.some((c) => !c) || columnRefs !== cols.length) return false;
  const { info } = await ctx.table(rel);
  if (!info || info.relkind === 'p') return false;
  const ordered = [...info.indexes.values()].filter((i) => i.valid && i.ordered);
  return cols.every((c) => ordered.some((i) => i.columns[0] === c));
}

export async function analyzeCopy(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  if (ast.query) {
    await lockReadRelations(ast.query, ctx, 'read by the query');
    ctx.setWork('rows');
    return;
  }
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  if (ast.is_from) {
    ctx.lock(name, 'RowExclusiveLock', { table: info });
  } else {
    ctx.lockWithChildren(name, info, 'AccessShareLock', 'partition (read too)');
    for (const d of ctx.dataTables(name, info)) ctx.scan(d, 'rows');
  }
  ctx.setWork('rows');
}

export async function analyzeLock(ast: any, ctx: StatementContext): Promise<void> {
  const mode = LOCK_BY_NUMBER[ast.mode as number] ?? 'AccessExclusiveLock';
  for (const r of ast.relations ?? []) {
    const rv = rangeVar(r.RangeVar);
    if (!rv) continue;
    const { name, info } = await ctx.table(rv);
    if (rv.only) ctx.lock(name, mode, { table: info });
    else ctx.lockWithChildren(name, info, mode, 'partition (LOCK TABLE recurses)');
    // Locking a view locks the relations its query reads, in the same mode.
    for (const r of info?.relkind === 'v' ? (info.viewReads ?? []) : [])
      ctx.lock(r, mode, { relkind: 'table', why: `read by view ${name}` });
    const blocks =
      mode === 'AccessExclusiveLock'
        ? 'every query on it, plain SELECTs included'
        : mode === 'AccessShareLock' || mode === 'RowShareLock' || mode === 'RowExclusiveLock'
          ? 'only conflicting DDL'
          : 'writes and other schema changes';
    ctx.finding('lock-table', `LOCK TABLE ${name} takes ${mode} until the transaction ends: it blocks ${blocks}.`, {
      severity: mode === 'AccessShareLock' || mode === 'RowShareLock' || mode === 'RowExclusiveLock' ? 'info' : 'warning',
    });
  }
  if (!ctx.session.inTransactionBlock) ctx.note('outside BEGIN ... COMMIT the lock is released at once (autocommit)');
  ctx.setWork('catalog');
}

/** Relations read by subqueries / FROM / USING, excluding the target itself. */
async function readOthers(parts: any[], target: string, ctx: StatementContext): Promise<string[]> {
  const out: string[] = [];
  for (const p of parts) {
    if (!p) continue;
    for (const r of rangeVarsIn(p)) {
      if (!r.schema && ctx.cteNames.has(r.name)) continue;
      const { name, info } = await ctx.table(r);
      if (name === target) continue;
      ctx.lock(name, 'AccessShareLock', { table: info, why: 'read by the statement' });
      out.push(name);
    }
  }
  return out;
}

/** UPDATE/DELETE: a full scan unless the WHERE can use an index on the target. */
function decideRowScan(
  where: any,
  relation: any,
  name: string,
  info: TableInfo | undefined,
  ctx: StatementContext,
  verb: 'UPDATE' | 'DELETE',
): void {
  const rows = info?.estimatedRows !== undefined && info.estimatedRows >= 0 ? ` (~${formatCount(info.estimatedRows)} rows)` : '';
  if (!where) {
    for (const d of ctx.dataTables(name, info)) ctx.scan(d, 'rows');
    ctx.finding(
      verb === 'UPDATE' ? 'update-without-where' : 'delete-without-where',
      `${verb} without WHERE touches every row of ${name}${rows} in one transaction: all of them stay locked until commit, and the table bloats.`,
    );
    return;
  }
  ctx.setWork('rows');
  if (info && !info.partial) {
    if (constantFilterOnIndex(where, relationNames(relation), info)) {
      ctx.note(`WHERE can use an index on ${name}: no full scan expected`);
      return;
    }
    for (const d of ctx.dataTables(name, info)) ctx.scan(d, 'rows');
    ctx.doubt(`no index matches the WHERE clause: the planner will most likely read all of ${name}`);
    if ((info.estimatedRows ?? 0) > 100_000) {
      ctx.finding('large-dml', `${verb} on ${name}${rows} with a WHERE no index serves: it reads the whole table in one transaction.`);
    }
    return;
  }
  ctx.unknownOnce(`whether an index serves the WHERE clause of this ${verb} (else it reads all of ${name})`);
}

/** The names a relation is referred to by in the query: its name and its alias. */
function relationNames(relation: any): string[] {
  return [relation?.relname, relation?.alias?.aliasname].filter(Boolean);
}

/** A valid index leads with a column the condition compares to a constant (=, <, IN...). */
function constantFilterOnIndex(where: any, names: string[], info: TableInfo | undefined): boolean {
  if (!info || info.partial) return false;
  const cols = indexableColumns(where, names, info);
  return [...info.indexes.values()].some((i) => i.valid && i.columns[0] && cols.includes(i.columns[0]));
}

/**
 * Relations joined in FROM / USING / a MERGE source: read in full (hash or merge join, or a scan)
 * unless the condition restricts one with a constant on an indexed column.
 */
async function scanJoined(from: any[] | undefined, where: any, ctx: StatementContext, work: WorkKind = 'rows'): Promise<void> {
  const nodes: any[] = [];
  walk({ from }, (k, v) => {
    if (k === 'RangeVar') nodes.push(v);
  });
  for (const rv of nodes) {
    const r = rangeVar(rv);
    if (!r || (!r.schema && ctx.cteNames.has(r.name))) continue;
    const { name, info } = await ctx.table(r);
    if (info && (info.relkind === 'v' || info.relkind === 'S')) continue;
    if (constantFilterOnIndex(where, relationNames(rv), info)) continue;
    if (!info || info.partial) {
      ctx.unknownOnce(`whether an index restricts ${name} in this query (else it is read in full)`);
      continue;
    }
    for (const d of ctx.dataTables(name, info)) ctx.scan(d, work);
  }
}

/**
 * UPDATE ... SET col = ... WHERE col IS NULL: a backfill written as one statement. On a large table
 * it holds every row it touches until commit; a `backfill` step does it in short batches.
 */
function backfillStyle(where: any, setCols: string[], name: string, info: TableInfo | undefined, ctx: StatementContext): void {
  const nullTested = conjuncts(where)
    .map((c) => (c?.NullTest?.nulltesttype === 'IS_NULL' ? columnRefName(c.NullTest.arg) : undefined))
    .filter((c): c is string => !!c && setCols.includes(c));
  // A table the script created is empty: nothing to batch. A key range is one batch of a batched
  // fill (a backfill step's statement, or one written by hand), not the whole table.
  if (nullTested.length === 0 || info?.createdInScript || boundsIndexedRange(where, info)) return;
  const rows = info?.estimatedRows;
  if (rows !== undefined && rows < LARGE_TABLE_ROWS) return;
  const size = rows !== undefined ? ` (~${formatCount(rows)} rows)` : '';
  ctx.finding(
    'backfill-in-one-statement',
    `UPDATE ${name}${size} SET ${nullTested[0]} ... WHERE ${nullTested[0]} IS NULL is a backfill in one transaction: every row it fills stays locked until commit, and replicas receive the WAL in one burst.`,
  );
  if (rows === undefined)
    ctx.unknownOnce(`how many rows ${name} has (the backfill finding matters from ~${formatCount(LARGE_TABLE_ROWS)} rows)`);
}

const LOWER = new Set(['>', '>=']);
const UPPER = new Set(['<', '<=']);
const FLIPPED: Record<string, string> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=' };

/**
 * Whether the WHERE bounds the leading column of a valid index (any column when the catalog is
 * unknown) from below and above with constants at the top level: `id > 1000 AND id <= 3000`,
 * `id BETWEEN ..`, or a row comparison led by it, `(a, b) > (..)`, as a batched fill pages.
 */
function boundsIndexedRange(where: any, info: TableInfo | undefined): boolean {
  const leading =
    info && !unknownRelation(info) ? new Set([...info.indexes.values()].filter((i) => i.valid).map((i) => i.columns[0])) : undefined;
  const lower = new Set<string>();
  const upper = new Set<string>();
  const columnOf = (x: any) => columnRefName(x) ?? columnRefName(x?.RowExpr?.args?.[0]);
  for (const c of conjuncts(where)) {
    const e = c?.A_Expr;
    if (!e) continue;
    const left = columnOf(e.lexpr);
    const right = columnOf(e.rexpr);
    if (e.kind === 'AEXPR_BETWEEN' && left) {
      lower.add(left);
      upper.add(left);
      continue;
    }
    if (!left === !right) continue; // a join, or no column
    const op = strings(e.name)[0] ?? '';
    const dir = left ? op : FLIPPED[op];
    const col = (left ?? right)!;
    if (dir && LOWER.has(dir)) lower.add(col);
    if (dir && UPPER.has(dir)) upper.add(col);
  }
  return [...lower].some((c) => upper.has(c) && (!leading || leading.has(c)));
}

/** From this many rows a one-statement backfill is worth batching. */
const LARGE_TABLE_ROWS = 10_000;

/**
 * Columns of one relation (named by `names`) that the WHERE compares to a constant with =, IN, <,
 * >, BETWEEN at the top level. A comparison with another column is a join, not a restriction.
 */
function indexableColumns(where: any, names: string[], info: TableInfo): string[] {
  const out: string[] = [];
  for (const c of conjuncts(where)) {
    const e = c?.A_Expr;
    if (!e) continue;
    const op = strings(e.name)[0];
    if (!['=', '<', '>', '<=', '>=', '=ANY'].includes(op ?? '') && e.kind !== 'AEXPR_IN' && e.kind !== 'AEXPR_BETWEEN') continue;
    const sides = [e.lexpr, e.rexpr];
    if (sides.every((x) => x?.ColumnRef)) continue;
    for (const side of sides) {
      const parts = strings(side?.ColumnRef?.fields);
      const col = parts[parts.length - 1];
      if (!col) continue;
      const mine = parts.length === 1 ? info.columns.size === 0 || info.columns.has(col) : names.includes(parts[parts.length - 2]!);
      if (mine) out.push(col);
    }
  }
  return out;
}
