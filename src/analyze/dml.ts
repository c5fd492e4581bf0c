// Data changes and explicit locks: UPDATE, DELETE, INSERT, MERGE, SELECT, COPY, LOCK TABLE.
// DML takes ROW EXCLUSIVE on its target (which blocks only SHARE and stronger), but an UPDATE or
// DELETE without WHERE touches every row in one transaction: every row stays locked until commit,
// the table bloats by its own size and the WAL burst reaches the replicas at once. Foreign keys
// add work on the other side: a DELETE on a referenced table looks up (and, without an index,
// scans) each referencing table.
import type { LockMode } from '../steps/step-kind.js';
import { columnRefName, conjuncts, rangeVar, rangeVarsIn, relText, strings } from './ast.js';
import { unknownRelation, type TableInfo } from './analysis-catalog.js';
import type { StatementContext } from './context.js';
import { lockReadRelations } from './other-ddl.js';
import { formatCount } from './column-changes.js';

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
  const setCols: string[] = (ast.targetList ?? []).map((t: any) => t.ResTarget?.name).filter(Boolean);
  decideRowScan(ast.whereClause, rel, name, info, ctx, 'UPDATE');
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
  decideRowScan(ast.whereClause, rel, name, info, ctx, 'DELETE');
  for (const fk of info?.incomingForeignKeys ?? []) {
    const mode: LockMode = fk.onDelete === 'a' || fk.onDelete === 'r' ? 'RowShareLock' : 'RowExclusiveLock';
    const action = fk.onDelete === 'c' ? 'deletes the referencing rows' : fk.onDelete === 'n' || fk.onDelete === 'd' ? 'updates the referencing rows' : 'checks for referencing rows';
    ctx.lock(fk.table, mode, { relkind: 'table', why: `${fk.constraint} ${action}` });
    if (!fk.indexed) {
      ctx.scan(fk.table, 'rows');
      ctx.finding('foreign-key-unindexed', `${fk.table}(${fk.columns.join(', ')}) has no index: each row deleted from ${name} scans ${fk.table}.`);
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
  ctx.doubt('how many rows MERGE touches depends on the join');
  ctx.setWork('rows');
}

export async function analyzeSelect(ast: any, ctx: StatementContext): Promise<void> {
  await analyzeModifyingCtes(ast.withClause, ctx);
  const locking = (ast.lockingClause ?? []).map((l: any) => l.LockingClause).filter(Boolean);
  const read = await lockReadRelations(ast, ctx, 'read by the query');
  if (locking.length) {
    const targeted = new Set<string>();
    for (const l of locking) for (const r of l.lockedRels ?? []) {
      const rv = rangeVar(r.RangeVar);
      if (rv) targeted.add(relText(rv));
    }
    for (const r of read) if (targeted.size === 0 || targeted.has(r)) ctx.lock(r, 'RowShareLock', { relkind: 'table', why: 'SELECT ... FOR UPDATE/SHARE' });
  }
  if (read.length) ctx.setWork('rows');
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
    const blocks = mode === 'AccessExclusiveLock' ? 'every query on it, plain SELECTs included' : mode === 'AccessShareLock' || mode === 'RowShareLock' || mode === 'RowExclusiveLock' ? 'only conflicting DDL' : 'writes and other schema changes';
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
function decideRowScan(where: any, rel: { name: string }, name: string, info: TableInfo | undefined, ctx: StatementContext, verb: 'UPDATE' | 'DELETE'): void {
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
  const cols = indexableColumns(where, rel.name);
  if (info && !info.partial) {
    const usable = [...info.indexes.values()].some((i) => i.valid && i.columns[0] && cols.includes(i.columns[0]));
    if (usable) {
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

/** Columns the WHERE restricts with =, IN, <, >, BETWEEN at the top level. */
function indexableColumns(where: any, tableName: string): string[] {
  const out: string[] = [];
  for (const c of conjuncts(where)) {
    const e = c?.A_Expr;
    if (!e) continue;
    const op = strings(e.name)[0];
    if (!['=', '<', '>', '<=', '>=', '=ANY'].includes(op ?? '') && e.kind !== 'AEXPR_IN' && e.kind !== 'AEXPR_BETWEEN') continue;
    for (const side of [e.lexpr, e.rexpr]) {
      const f = side?.ColumnRef?.fields;
      if (!f) continue;
      const parts = strings(f);
      if (parts.length === 1 || (parts.length === 2 && parts[0] === tableName)) {
        const col = columnRefName(side);
        if (col) out.push(col);
      } else if (parts.length === 2) out.push(parts[1]!);
    }
  }
  return out;
}
