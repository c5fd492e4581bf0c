// Other DDL: triggers, DROP, enums, CREATE TABLE / VIEW / TABLE AS, COMMENT, GRANT, RENAME,
// SET SCHEMA, policies, and statements that lock no existing relation.
import { nameFromList, rangeVar, rangeVarsIn, relText, strings, typeName } from './ast.js';
import type { StatementContext } from './context.js';
import { unknownRelation } from './analysis-catalog.js';
import { emptyTable } from './schema-state.js';
import { analyzeCreatePartitionOf } from './partitions.js';
import { analyzeDropIndex } from './indexes.js';
import { pgTypname } from './type-change.js';
import { lockOwnedSequences } from './sequences.js';

export async function analyzeCreateTrigger(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  // CREATE TRIGGER takes SHARE ROW EXCLUSIVE (and recurses to partitions for row triggers).
  if (ast.row) ctx.lockWithChildren(name, info, 'ShareRowExclusiveLock', 'partition (the trigger is cloned onto it)');
  else ctx.lock(name, 'ShareRowExclusiveLock', { table: info });
  if (ast.constrrel) {
    const other = rangeVar(ast.constrrel);
    if (other) {
      const o = await ctx.table(other);
      ctx.lock(o.name, 'AccessShareLock', { table: o.info, why: 'referenced by the constraint trigger' });
    }
  }
  ctx.finding('trigger-lock', `CREATE TRIGGER takes SHARE ROW EXCLUSIVE on ${name}: writes wait while it is held.`);
  ctx.setWork('catalog');
}

export async function analyzeDrop(ast: any, ctx: StatementContext): Promise<void> {
  const type: string = ast.removeType;
  if (type === 'OBJECT_INDEX') return analyzeDropIndex(ast, ctx);
  const cascade = ast.behavior === 'DROP_CASCADE';
  for (const obj of ast.objects ?? []) {
    const items = obj?.List?.items;
    if (type === 'OBJECT_TRIGGER' || type === 'OBJECT_POLICY' || type === 'OBJECT_RULE') {
      // [schema?, table, name]
      const parts = strings(items);
      const table = parts.length >= 2 ? { schema: parts.length > 2 ? parts[0] : undefined, name: parts[parts.length - 2]! } : undefined;
      if (table) {
        const { name, info } = await ctx.table(table);
        ctx.lock(name, 'AccessExclusiveLock', { table: info });
      }
      ctx.setWork('catalog');
      continue;
    }
    if (
      type === 'OBJECT_TABLE' ||
      type === 'OBJECT_VIEW' ||
      type === 'OBJECT_MATVIEW' ||
      type === 'OBJECT_FOREIGN_TABLE' ||
      type === 'OBJECT_SEQUENCE'
    ) {
      const r = nameFromList(items);
      if (!r) continue;
      const { name, info } = await ctx.table(r);
      ctx.lockWithChildren(name, info, 'AccessExclusiveLock', 'partition (dropped with it)');
      if (type === 'OBJECT_TABLE') lockOwnedSequences(ctx, info, 'AccessExclusiveLock', 'owned by a column, dropped with the table');
      if (type === 'OBJECT_TABLE') {
        if (info && !ctx.state.createdInScript(r))
          ctx.finding('drop-table', `DROP TABLE ${name}${cascade ? ' CASCADE' : ''} removes the table and its data for good.`);
        else if (!info) ctx.finding('drop-table', `DROP TABLE ${name} removes the table and its data for good.`);
        for (const c of info?.constraints.values() ?? []) {
          if (c.type === 'foreign key' && c.refTable && c.refTable !== name) {
            ctx.lock(c.refTable, 'AccessExclusiveLock', {
              relkind: 'table',
              why: `referenced by ${c.name}; its foreign-key triggers are dropped`,
            });
          }
        }
        for (const fk of info?.incomingForeignKeys ?? []) {
          if (fk.table === name) continue;
          if (cascade)
            ctx.lock(fk.table, 'AccessExclusiveLock', { relkind: 'table', why: `its foreign key ${fk.constraint} is dropped (CASCADE)` });
          else ctx.doubt(`${fk.table} references ${name} (${fk.constraint}): DROP fails without CASCADE`);
        }
        if (unknownRelation(info)) ctx.unknownOnce(`which tables ${name} references or is referenced by (they are locked too)`);
      }
      for (const v of info?.dependentViews ?? []) {
        if (cascade) ctx.lock(v, 'AccessExclusiveLock', { relkind: 'view', why: 'dependent view, dropped by CASCADE' });
        else ctx.doubt(`view ${v} depends on ${name}: DROP fails without CASCADE`);
      }
      ctx.state.dropped(r);
      ctx.setWork('catalog');
      continue;
    }
    if (type === 'OBJECT_STATISTIC_EXT') {
      await dropStatistics(items, ctx);
      continue;
    }
    // Types, functions, schemas, extensions...: no table lock we can name.
    ctx.note(`DROP ${type.replace('OBJECT_', '')} ${strings(items).join('.') || ''}: no table lock, dependent objects need CASCADE`);
    ctx.setWork('catalog');
  }
}

export async function analyzeAlterEnum(ast: any, ctx: StatementContext): Promise<void> {
  const name = strings(ast.typeName).join('.');
  if (ast.newVal !== undefined && ast.oldVal === undefined) {
    ctx.finding(
      'enum-add-value',
      `ALTER TYPE ${name} ADD VALUE '${ast.newVal}' locks no table; the new value is usable once this transaction commits.`,
    );
  } else ctx.note('renaming an enum value is a catalog change');
  ctx.setWork('catalog');
}

export async function analyzeCreateTable(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  const newName = relText(rel);
  const info = emptyTable(newName, ast.partspec ? 'p' : 'r');
  if (ast.relation?.relpersistence === 'u') info.persistence = 'u';
  if (ast.partbound) {
    await analyzeCreatePartitionOf(ast.inhRelations?.[0]?.RangeVar, newName, ctx);
    info.partitionOf = relText(rangeVar(ast.inhRelations?.[0]?.RangeVar)!);
  } else {
    for (const inh of ast.inhRelations ?? []) {
      const p = rangeVar(inh.RangeVar);
      if (!p) continue;
      const t = await ctx.table(p);
      ctx.lock(t.name, 'ShareUpdateExclusiveLock', { table: t.info, why: 'inheritance parent' });
    }
  }
  for (const el of ast.tableElts ?? []) {
    if (el.TableLikeClause) {
      const src = rangeVar(el.TableLikeClause.relation);
      if (src) {
        const t = await ctx.table(src);
        ctx.lock(t.name, 'AccessShareLock', { table: t.info, why: 'copied by LIKE' });
        for (const [k, c] of t.info?.columns ?? []) info.columns.set(k, { ...c });
      }
    }
    const cd = el.ColumnDef;
    const consts: any[] = [...(cd?.constraints ?? []).map((c: any) => c.Constraint), ...(el.Constraint ? [el.Constraint] : [])].filter(
      Boolean,
    );
    if (cd) {
      const ty = typeName(cd.typeName);
      info.columns.set(cd.colname, {
        name: cd.colname,
        type: ty?.name ?? 'unknown',
        typname: ty ? pgTypname(ty) : 'unknown',
        typschema: ty?.schema ?? 'pg_catalog',
        mods: ty?.mods ?? [],
        notNull: consts.some((c) => c.contype === 'CONSTR_NOTNULL' || c.contype === 'CONSTR_PRIMARY'),
        domainWithConstraints: false,
        identity: consts.some((c) => c.contype === 'CONSTR_IDENTITY'),
        generated: consts.some((c) => c.contype === 'CONSTR_GENERATED'),
      });
    }
    for (const c of consts) {
      if (c.contype !== 'CONSTR_FOREIGN') continue;
      const ref = rangeVar(c.pktable);
      if (!ref) continue;
      const t = await ctx.table(ref);
      if (relText(ref) === newName) continue;
      ctx.lock(t.name, 'ShareRowExclusiveLock', { table: t.info, why: 'referenced table (the foreign key adds triggers to it)' });
      const cols = cd ? [cd.colname] : strings(c.fk_attrs);
      const name = c.conname ?? `${rel.name}_${cols.join('_')}_fkey`;
      info.constraints.set(name, {
        name,
        type: 'foreign key',
        validated: true,
        columns: cols,
        provesNotNull: [],
        refTable: t.name,
        refColumns: strings(c.pk_attrs),
      });
    }
  }
  ctx.state.created(rel, info);
  ctx.setWork('catalog');
}

export async function analyzeCreateView(ast: any, ctx: StatementContext): Promise<void> {
  const view = rangeVar(ast.view);
  if (!view) return;
  await lockReadRelations(ast.query, ctx, 'read by the view definition');
  const existing = await ctx.state.relation(view);
  if (existing && ast.replace) ctx.lock(existing.name, 'AccessExclusiveLock', { table: existing });
  if (!existing) {
    const info = emptyTable(relText(view), 'v');
    ctx.state.created(view, info);
  }
  ctx.setWork('catalog');
}

export async function analyzeCreateTableAs(ast: any, ctx: StatementContext): Promise<void> {
  const into = rangeVar(ast.into?.rel);
  const read = await lockReadRelations(ast.query, ctx, 'read by the query');
  if (!ast.into?.skipData) {
    for (const r of read) ctx.scan(r, 'scan');
    ctx.doubt('how much of each source table the query reads depends on its plan (assumed a full read)');
  } else ctx.setWork('catalog');
  if (into) ctx.state.created(into, emptyTable(relText(into), ast.objtype === 'OBJECT_MATVIEW' ? 'm' : 'r'));
}

/** ACCESS SHARE on every relation a query reads; returns their names. */
export async function lockReadRelations(query: any, ctx: StatementContext, why: string): Promise<string[]> {
  const out: string[] = [];
  for (const r of rangeVarsIn(query)) {
    if (!r.schema && ctx.cteNames.has(r.name)) continue;
    const { name, info } = await ctx.table(r);
    if (r.only) ctx.lock(name, 'AccessShareLock', { table: info, why });
    else ctx.lockWithChildren(name, info, 'AccessShareLock', 'partition (read too)');
    if (!ctx.locks.has(name)) ctx.lock(name, 'AccessShareLock', { table: info, why });
    out.push(name);
  }
  return out;
}

const COMMENT_ON_RELATION = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_INDEX',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
]);

export async function analyzeComment(ast: any, ctx: StatementContext): Promise<void> {
  const items = ast.object?.List?.items;
  if (COMMENT_ON_RELATION.has(ast.objtype)) {
    const r = nameFromList(items);
    if (r) {
      if (ast.objtype === 'OBJECT_INDEX') {
        const owner = await ctx.state.indexOwner(r);
        ctx.lock(owner?.index ?? relText(r), 'ShareUpdateExclusiveLock', { relkind: 'index' });
      } else {
        const { name, info } = await ctx.table(r);
        ctx.lock(name, 'ShareUpdateExclusiveLock', { table: info });
      }
    }
  } else if (ast.objtype === 'OBJECT_COLUMN' || ast.objtype === 'OBJECT_TABCONSTRAINT' || ast.objtype === 'OBJECT_TRIGGER') {
    const parts = strings(items);
    const table =
      parts.length >= 2 ? { schema: parts.length > 2 ? parts[parts.length - 3] : undefined, name: parts[parts.length - 2]! } : undefined;
    if (table) {
      const { name, info } = await ctx.table(table);
      ctx.lock(name, ast.objtype === 'OBJECT_COLUMN' ? 'ShareUpdateExclusiveLock' : 'AccessShareLock', { table: info });
      if (ast.objtype !== 'OBJECT_COLUMN') ctx.doubt(`the lock COMMENT ON ${ast.objtype.replace('OBJECT_', '')} takes on ${name}`);
    }
  }
  ctx.setWork('catalog');
}

export async function analyzeGrant(ast: any, ctx: StatementContext): Promise<void> {
  // From PostgreSQL 18 GRANT / REVOKE on a table hold ACCESS SHARE on it while updating relacl.
  if (ast.objtype === 'OBJECT_TABLE' && ast.targtype === 'ACL_TARGET_OBJECT' && ctx.major >= 18) {
    for (const o of ast.objects ?? []) {
      const r = rangeVar(o.RangeVar);
      if (!r) continue;
      const { name, info } = await ctx.table(r);
      ctx.lock(name, 'AccessShareLock', { table: info });
    }
  } else if (ast.targtype === 'ACL_TARGET_ALL_IN_SCHEMA')
    ctx.doubt('GRANT ... ON ALL TABLES IN SCHEMA takes ACCESS SHARE on every table in it');
  ctx.note('GRANT/REVOKE change the ACL in the catalog');
  ctx.setWork('catalog');
}

export async function analyzeRename(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  ctx.setWork('catalog');
  switch (ast.renameType) {
    case 'OBJECT_TABLE':
    case 'OBJECT_VIEW':
    case 'OBJECT_MATVIEW':
    case 'OBJECT_FOREIGN_TABLE':
    case 'OBJECT_SEQUENCE': {
      if (!rel) return;
      const { name, info } = await ctx.table(rel);
      ctx.lock(name, 'AccessExclusiveLock', { table: info });
      if (ast.renameType === 'OBJECT_TABLE' || ast.renameType === 'OBJECT_VIEW') {
        ctx.finding('rename', `Renaming ${name} to ${ast.newname} breaks every running query and deployed code that uses the old name.`);
      }
      if (info) ctx.state.dropped(rel);
      if (info)
        ctx.state.created({ schema: rel.schema, name: ast.newname }, { ...info, name: ast.newname, createdInScript: info.createdInScript });
      return;
    }
    case 'OBJECT_COLUMN': {
      if (!rel) return;
      const { name, info } = await ctx.table(rel);
      ctx.lockWithChildren(name, info, 'AccessExclusiveLock', 'partition (renamed too)');
      ctx.finding('rename', `Renaming column ${ast.subname} of ${name} to ${ast.newname} breaks deployed code that uses the old name.`);
      const col = info?.columns.get(ast.subname);
      if (info && col) {
        info.columns.delete(ast.subname);
        info.columns.set(ast.newname, { ...col, name: ast.newname });
      }
      return;
    }
    case 'OBJECT_INDEX': {
      if (!rel) return;
      const owner = await ctx.state.indexOwner(rel);
      ctx.lock(owner?.index ?? relText(rel), 'ShareUpdateExclusiveLock', { relkind: 'index' });
      return;
    }
    case 'OBJECT_TABCONSTRAINT':
    case 'OBJECT_TRIGGER':
    case 'OBJECT_POLICY':
    case 'OBJECT_RULE': {
      if (!rel) return;
      const { name, info } = await ctx.table(rel);
      ctx.lock(name, 'AccessExclusiveLock', { table: info });
      if (ast.renameType === 'OBJECT_TABCONSTRAINT' && info) {
        const c = info.constraints.get(ast.subname);
        if (c) {
          info.constraints.delete(ast.subname);
          info.constraints.set(ast.newname, { ...c, name: ast.newname });
        }
      }
      return;
    }
    default:
      ctx.note(`RENAME ${String(ast.renameType).replace('OBJECT_', '')}: a catalog change`);
  }
}

export async function analyzeSetSchema(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  ctx.setWork('catalog');
  if (!rel) {
    ctx.note('SET SCHEMA of a non-relation object: a catalog change');
    return;
  }
  const { name, info } = await ctx.table(rel);
  ctx.lock(name, 'AccessExclusiveLock', { table: info });
  if (info?.relkind !== 'S') lockOwnedSequences(ctx, info, 'AccessExclusiveLock', `owned by a column, moved to ${ast.newschema} too`);
  ctx.finding('rename', `Moving ${name} to schema ${ast.newschema} breaks queries that use the old qualified name or rely on search_path.`);
}

/** Statements that create objects without touching existing tables. */
export const NO_TABLE_LOCK = new Set([
  'CreateEnumStmt',
  'CreateFunctionStmt',
  'CreateExtensionStmt',
  'CreateSchemaStmt',
  'CompositeTypeStmt',
  'CreateDomainStmt',
  'CreateRoleStmt',
  'AlterRoleStmt',
  'CreateRangeStmt',
  'DefineStmt',
  'AlterFunctionStmt',
  'AlterDefaultPrivilegesStmt',
  'AlterOwnerStmt',
]);

/** DROP STATISTICS: SHARE UPDATE EXCLUSIVE on the table the statistics object is on. */
async function dropStatistics(items: any[], ctx: StatementContext): Promise<void> {
  const r = nameFromList(items);
  ctx.setWork('catalog');
  if (!r) return;
  if (!ctx.live || !ctx.session.catalog) {
    ctx.unknownOnce(`which table statistics object ${relText(r)} is on (it is locked in SHARE UPDATE EXCLUSIVE)`);
    return;
  }
  const table = await ctx.session.catalog.statisticsTable(r.schema, r.name);
  if (table) ctx.lock(table, 'ShareUpdateExclusiveLock', { relkind: 'table', why: `statistics object ${relText(r)} is on it` });
}
