// VACUUM, VACUUM FULL, ANALYZE, CLUSTER, TRUNCATE, REFRESH MATERIALIZED VIEW.
import { hasOption, rangeVar } from './ast.js';
import type { StatementContext } from './context.js';
import { unknownRelation } from './analysis-catalog.js';
import { rowsText } from './column-changes.js';
import { lockOwnedSequences } from './sequences.js';

export async function analyzeVacuum(ast: any, ctx: StatementContext): Promise<void> {
  const full = hasOption(ast.options, 'full');
  const isVacuum = !!ast.is_vacuumcmd;
  const rels = (ast.rels ?? []).map((r: any) => rangeVar(r.VacuumRelation?.relation)).filter(Boolean);
  if (rels.length === 0) {
    ctx.doubt(`${isVacuum ? 'VACUUM' : 'ANALYZE'} without a table processes every table in the database, one at a time`);
    ctx.setWork(full ? 'rewrite' : 'scan');
    if (full)
      ctx.finding('rewrite-table', 'VACUUM FULL without a table rewrites every table in the database, each under ACCESS EXCLUSIVE.');
    return;
  }
  for (const rel of rels) {
    const { name, info } = await ctx.table(rel);
    if (isVacuum && full) {
      ctx.lockWithChildren(name, info, 'AccessExclusiveLock', 'partition (each is rewritten)');
      for (const d of ctx.dataTables(name, info)) ctx.rewrite(d);
      ctx.finding(
        'rewrite-table',
        `VACUUM FULL rewrites ${name}${rowsText(info)} under ACCESS EXCLUSIVE: every query on it waits until the copy is done.`,
      );
    } else {
      ctx.lockWithChildren(name, info, 'ShareUpdateExclusiveLock', 'partition (processed too)');
      if (isVacuum) ctx.note('VACUUM reads the pages not yet marked all-visible; reads and writes continue');
      else ctx.note('ANALYZE reads a sample of the table; reads and writes continue');
      ctx.setWork(isVacuum ? 'scan' : 'catalog');
    }
  }
}

export async function analyzeCluster(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  if (!rel) {
    ctx.doubt('CLUSTER without a table re-clusters every previously clustered table');
    ctx.setWork('rewrite');
    return;
  }
  const { name, info } = await ctx.table(rel);
  ctx.lockWithChildren(name, info, 'AccessExclusiveLock', 'partition (each is rewritten)');
  for (const d of ctx.dataTables(name, info)) ctx.rewrite(d);
  for (const i of info?.indexes.values() ?? [])
    ctx.lock(i.name, 'AccessExclusiveLock', { relkind: 'index', why: 'rebuilt with the table' });
  ctx.finding('rewrite-table', `CLUSTER rewrites ${name}${rowsText(info)} in index order under ACCESS EXCLUSIVE: every query on it waits.`);
}

export async function analyzeTruncate(ast: any, ctx: StatementContext): Promise<void> {
  const cascade = ast.behavior === 'DROP_CASCADE';
  const targets = new Set<string>();
  for (const r of ast.relations ?? []) {
    const rel = rangeVar(r.RangeVar);
    if (!rel) continue;
    const { name, info } = await ctx.table(rel);
    targets.add(name);
    if (rel.only) ctx.lock(name, 'AccessExclusiveLock', { table: info });
    else ctx.lockWithChildren(name, info, 'AccessExclusiveLock', 'partition (emptied too)');
    if (ast.restart_seqs) lockOwnedSequences(ctx, info, 'AccessExclusiveLock', 'RESTART IDENTITY resets it');
    for (const d of ctx.dataTables(name, info)) ctx.rewrite(d, 'empty');
    for (const fk of info?.incomingForeignKeys ?? []) {
      if (cascade) {
        ctx.lock(fk.table, 'AccessExclusiveLock', { relkind: 'table', why: `CASCADE empties it (foreign key ${fk.constraint})` });
        ctx.rewrite(fk.table, 'empty');
      } else if (!targets.has(fk.table)) {
        ctx.doubt(`${fk.table} references ${name} (${fk.constraint}): TRUNCATE fails unless it is truncated too or CASCADE is given`);
      }
    }
    if (unknownRelation(info)) ctx.unknownOnce(`whether other tables reference ${name} (TRUNCATE fails, or CASCADE empties them too)`);
    ctx.finding('truncate', `TRUNCATE ${name} removes every row at once under ACCESS EXCLUSIVE; the old data is gone at commit.`);
  }
  ctx.note('TRUNCATE swaps in new, empty storage: quick, independent of table size');
}

export async function analyzeRefreshMatview(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  if (ast.concurrent) {
    ctx.lock(name, 'ExclusiveLock', { table: info });
    ctx.scan(name);
    ctx.note('CONCURRENTLY: reads of the view continue; it computes the query and applies the difference');
  } else {
    ctx.lock(name, 'AccessExclusiveLock', { table: info });
    // New storage, refilled from the view's query (its indexes are then built from the new rows).
    ctx.rewrite(name, ast.skipData ? 'empty' : 'rows');
    ctx.finding(
      'refresh-matview-blocks',
      `REFRESH MATERIALIZED VIEW takes ACCESS EXCLUSIVE on ${name}: reads of it wait until the query has been recomputed.`,
    );
  }
  if (ast.skipData) ctx.note('WITH NO DATA empties the view: its query is not run');
  else if (info?.viewReads) {
    for (const r of info.viewReads) {
      ctx.lock(r, 'AccessShareLock', { relkind: 'table', why: 'read by the view query' });
      ctx.scan(r);
    }
  } else ctx.unknownOnce(`the tables ${name} reads (ACCESS SHARE, scanned by the refresh)`);
}
