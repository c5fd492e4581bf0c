// ALTER TABLE ... ALTER COLUMN / DROP COLUMN: defaults, NOT NULL, type changes, storage,
// statistics, identity. Lock levels from AlterTableGetLockLevel (tablecmds.c).
import { relText, typeName, type ParsedType } from './ast.js';
import type { StepSuggestion } from './suggest-step.js';
import { unknownRelation, type ColumnInfo, type TableInfo } from './analysis-catalog.js';
import type { StatementContext } from './context.js';
import type { AlterTarget, SubcommandResult } from './alter-target.js';
import { decideTypeChange, pgTypname } from './type-change.js';
import { expressionVolatility } from './volatility.js';
import { lockOwnedSequences } from './sequences.js';

export const COLUMN_SUBTYPES = new Set([
  'AT_ColumnDefault',
  'AT_CookedColumnDefault',
  'AT_DropNotNull',
  'AT_SetNotNull',
  'AT_DropColumn',
  'AT_SetStatistics',
  'AT_SetOptions',
  'AT_ResetOptions',
  'AT_SetStorage',
  'AT_SetCompression',
  'AT_AlterColumnType',
  'AT_AddIdentity',
  'AT_SetIdentity',
  'AT_DropIdentity',
  'AT_DropExpression',
  'AT_SetExpression',
]);

export async function analyzeColumnCommand(cmd: any, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  const col: string = cmd.name;
  const info = t.info?.columns.get(col);
  if (t.info && !info && ctx.live && !cmd.missing_ok) ctx.doubt(`column ${col} does not exist in ${t.name}: the statement would fail`);
  switch (cmd.subtype) {
    case 'AT_ColumnDefault':
    case 'AT_CookedColumnDefault':
      return columnDefault(cmd, col, t, ctx);
    case 'AT_DropNotNull':
      if (info) info.notNull = false;
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock' };
    case 'AT_SetNotNull':
      setNotNull(col, t, ctx);
      return { mode: 'AccessExclusiveLock' };
    case 'AT_DropColumn':
      return dropColumn(cmd, col, info, t, ctx);
    case 'AT_SetStatistics':
    case 'AT_SetOptions':
    case 'AT_ResetOptions':
      ctx.note('planner statistics settings: takes effect at the next ANALYZE');
      ctx.setWork('catalog');
      return { mode: 'ShareUpdateExclusiveLock' };
    case 'AT_SetStorage':
      ctx.note('SET STORAGE applies to rows written from now on: no rewrite');
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock' };
    case 'AT_SetCompression':
      ctx.requires(14, 'SET COMPRESSION');
      ctx.note('SET COMPRESSION applies to values written from now on: no rewrite');
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock' };
    case 'AT_AlterColumnType':
      await alterType(cmd, col, t, ctx);
      return { mode: 'AccessExclusiveLock' };
    case 'AT_AddIdentity':
    case 'AT_SetIdentity':
    case 'AT_DropIdentity':
      // SET GENERATED / SET options / RESTART alter the identity's sequence; DROP IDENTITY drops it.
      if (cmd.subtype === 'AT_SetIdentity') lockOwnedSequences(ctx, t.info, 'ShareRowExclusiveLock', `identity sequence of ${col}`, col);
      if (cmd.subtype === 'AT_DropIdentity')
        lockOwnedSequences(ctx, t.info, 'AccessExclusiveLock', `identity sequence of ${col}, dropped`, col);
      ctx.note('identity changes are catalog changes: existing values stay');
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock' };
    case 'AT_DropExpression':
      ctx.note('DROP EXPRESSION keeps the stored values: no rewrite');
      if (ctx.major >= 18)
        ctx.doubt('on PostgreSQL 18 a VIRTUAL generated column must be materialized (rewrite) when its expression is dropped');
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock' };
    case 'AT_SetExpression':
      if (ctx.requires(17, 'ALTER COLUMN ... SET EXPRESSION')) {
        for (const d of ctx.dataTables(t.name, t.info)) ctx.rewrite(d);
        ctx.finding(
          'add-column-generated-stored',
          `SET EXPRESSION recomputes generated column ${col} for every row of ${t.name} under ACCESS EXCLUSIVE.`,
        );
        ctx.doubt('a VIRTUAL generated column (PostgreSQL 18) needs no rewrite');
      }
      return { mode: 'AccessExclusiveLock' };
  }
  return { mode: 'AccessExclusiveLock' };
}

/** SET / DROP DEFAULT: a catalog change that splits rows written before and after the commit. */
async function columnDefault(cmd: any, col: string, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  if (cmd.def) {
    const v = await expressionVolatility(cmd.def, ctx.live ? ctx.session.catalog : undefined);
    ctx.note(`SET DEFAULT applies to rows inserted from now on (${v.volatility} expression): existing rows are not touched`);
  } else ctx.note('DROP DEFAULT is a catalog change');
  if (!ctx.state.createdInScript(t.rel)) {
    ctx.finding(
      'change-column-default',
      `${cmd.def ? 'SET' : 'DROP'} DEFAULT on ${t.name}.${col}: rows inserted from the commit on get ${cmd.def ? 'the new default' : 'NULL'} while rows written before keep theirs, and application code that omits ${col} changes behaviour at that moment.`,
    );
  }
  ctx.setWork('catalog');
  return { mode: 'AccessExclusiveLock' };
}

/** DROP COLUMN: a catalog change that takes the column's indexes and owned sequences with it. */
function dropColumn(cmd: any, col: string, info: ColumnInfo | undefined, t: AlterTarget, ctx: StatementContext): SubcommandResult {
  if (cmd.missing_ok && t.info && !t.info.partial && !info) {
    ctx.note(`column ${col} does not exist: DROP COLUMN IF EXISTS does nothing`);
    ctx.setWork('catalog');
    return { mode: 'AccessExclusiveLock' };
  }
  lockOwnedSequences(ctx, t.info, 'AccessExclusiveLock', `owned by ${col}, dropped with it`, col);
  ctx.finding(
    'drop-column',
    `DROP COLUMN ${col} removes its data from ${t.name} for good (a catalog change: the space is reclaimed only as rows are rewritten).`,
  );
  for (const idx of t.info?.indexes.values() ?? []) {
    if (idx.columns.includes(col))
      ctx.lock(idx.name, 'AccessExclusiveLock', { relkind: 'index', why: 'index on the dropped column (dropped with it)' });
  }
  t.info?.columns.delete(col);
  ctx.setWork('catalog');
  return { mode: 'AccessExclusiveLock' };
}

function setNotNull(col: string, t: AlterTarget, ctx: StatementContext): void {
  const info = t.info?.columns.get(col);
  const data = ctx.dataTables(t.name, t.info);
  if (info?.notNull && nnConstraintValid(t.info!, col)) {
    ctx.note(`${col} is already NOT NULL: nothing to check`);
    ctx.setWork('catalog');
    return;
  }
  const proof = validatedNotNullCheck(t.info, col);
  if (proof) {
    ctx.note(`validated constraint ${proof} proves ${col} IS NOT NULL: PostgreSQL skips the scan`);
    ctx.setWork('catalog');
  } else {
    for (const d of data) ctx.scan(d);
    if (unknownRelation(t.info))
      ctx.unknownOnce(`whether a validated CHECK (${col} IS NOT NULL) exists (it would make SET NOT NULL skip the scan)`);
    if (!ctx.state.createdInScript(t.rel)) {
      ctx.finding(
        'set-not-null-scan',
        `SET NOT NULL on ${col} scans all of ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE: reads and writes wait for the whole scan.`,
      );
    }
  }
  if (info) info.notNull = true;
}

/** PG18 keeps NOT NULL as constraints; an invalid one means the column is not yet proven. */
function nnConstraintValid(t: TableInfo, col: string): boolean {
  for (const c of t.constraints.values()) if (c.type === 'not null' && c.columns.includes(col)) return c.validated;
  return true;
}

export function validatedNotNullCheck(t: TableInfo | undefined, col: string): string | undefined {
  for (const c of t?.constraints.values() ?? []) {
    if (!c.validated) continue;
    if (c.type === 'check' && c.provesNotNull.includes(col)) return c.name;
    if (c.type === 'not null' && c.columns.includes(col)) return c.name;
  }
  return undefined;
}

export function rowsText(t: TableInfo | undefined): string {
  if (t?.estimatedRows === undefined || t.estimatedRows < 0) return '';
  return ` (~${formatCount(t.estimatedRows)} rows)`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  return String(Math.round(n));
}

type TargetType = NonNullable<ReturnType<typeof typeName>>;

async function alterType(cmd: any, col: string, t: AlterTarget, ctx: StatementContext): Promise<void> {
  const cdef = cmd.def?.ColumnDef;
  const target = typeName(cdef?.typeName);
  const info = t.info?.columns.get(col);
  const data = ctx.dataTables(t.name, t.info);
  if (!target) return;
  if (!info) return alterUnknownType(col, target, t, data, ctx);
  if (pgTypname(target) === 'json') jsonFinding(t.name, col, ctx);
  const verdict = await decideTypeChange(info, target, {
    using: cdef.raw_default,
    catalog: ctx.live ? ctx.session.catalog : undefined,
    timeZone: ctx.session.timeZone,
  });
  if (verdict.uncertain) (ctx.live ? ctx.doubt.bind(ctx) : ctx.unknownOnce.bind(ctx))(verdict.uncertain);
  if (verdict.timezoneDependent) {
    ctx.finding('timezone-dependent', `${info.type} -> ${target.name}: ${verdict.why}.`, {
      severity: verdict.rewrite ? 'warning' : 'info',
    });
  }
  // An identity column's sequence follows the new type (ALTER SEQUENCE ... AS).
  if (info.identity) lockOwnedSequences(ctx, t.info, 'ShareRowExclusiveLock', `identity sequence of ${col}, retyped`, col);
  if (verdict.rewrite) {
    for (const d of data) ctx.rewrite(d);
    ctx.note(`rewrite: ${verdict.why}`);
    ctx.finding(
      'alter-column-type-rewrite',
      `ALTER COLUMN ${col} TYPE rewrites ${t.name}${rowsText(t.info)} and rebuilds its indexes under ACCESS EXCLUSIVE: ${verdict.why}.`,
      narrowingAlternative(info, target, t, col) ?? {},
    );
  } else {
    ctx.note(`no rewrite: ${verdict.why}`);
    ctx.setWork('catalog');
  }
  retypeDependents(col, t, data, verdict.rewrite, ctx);
  info.typname = pgTypname(target);
  info.typschema = target.schema ?? info.typschema;
  info.mods = target.mods;
  info.type = target.name + (target.mods.length ? `(${target.mods.join(',')})` : '');
}

/** Without the current type the best guess is the common case: a rewrite. */
function alterUnknownType(col: string, target: TargetType, t: AlterTarget, data: string[], ctx: StatementContext): void {
  for (const d of data) ctx.rewrite(d);
  ctx.unknownOnce(`the current type of ${t.name}.${col} (binary-coercible changes such as varchar widening do not rewrite)`);
  // If it narrows a string column, a CHECK gives the same limit without the rewrite.
  const narrowing = narrowingAlternative(
    { typname: 'varchar' } as ColumnInfo,
    target,
    t,
    col,
    'if this narrows a text or varchar column, ',
  );
  ctx.finding(
    'alter-column-type-rewrite',
    `ALTER COLUMN ${col} TYPE ${target.name} probably rewrites ${t.name} and its indexes under ACCESS EXCLUSIVE.`,
    narrowing ?? {},
  );
}

/** What a retyped column takes with it: CHECKs re-validated, expression indexes rebuilt, foreign keys re-created. */
function retypeDependents(col: string, t: AlterTarget, data: string[], rewrite: boolean, ctx: StatementContext): void {
  // CHECK constraints that use the column are dropped and re-added, which validates them by a scan.
  const checks = [...(t.info?.constraints.values() ?? [])].filter((c) => c.type === 'check' && c.columns.includes(col));
  if (checks.length && !rewrite) {
    for (const d of data) ctx.scan(d);
    ctx.finding(
      'alter-column-type-revalidates',
      `CHECK constraint${checks.length > 1 ? 's' : ''} ${checks.map((c) => c.name).join(', ')} on ${col} ${checks.length > 1 ? 'are' : 'is'} re-validated by a scan of ${t.name} under ACCESS EXCLUSIVE.`,
    );
  } else if (unknownRelation(t.info) && !rewrite)
    ctx.unknownOnce(`whether CHECK constraints use ${col} (they would be re-validated by a scan)`);
  // Indexes whose expressions or predicate use the column are rebuilt even when the table is not.
  const rebuilt = [...(t.info?.indexes.values() ?? [])].filter((i) => i.expressionColumns?.includes(col));
  if (rebuilt.length && !rewrite) {
    for (const d of data) ctx.scan(d, 'index-build');
    ctx.note(
      `index${rebuilt.length > 1 ? 'es' : ''} ${rebuilt.map((i) => i.name).join(', ')} use ${col} in an expression: rebuilt (a scan of ${t.name})`,
    );
  }
  // Foreign keys through the column are dropped and re-created: dropping removes their triggers on
  // the referenced table (ACCESS EXCLUSIVE), and after a rewrite they are validated again.
  for (const c of t.info?.constraints.values() ?? []) {
    if (c.type === 'foreign key' && c.columns.includes(col) && c.refTable) {
      ctx.lock(c.refTable, 'AccessExclusiveLock', { relkind: 'table', why: `referenced by ${c.name}, which is dropped and re-created` });
      if (rewrite && c.validated) ctx.scan(c.refTable);
    }
  }
  for (const fk of t.info?.incomingForeignKeys ?? []) {
    if (fk.refColumns.includes(col)) {
      ctx.lock(fk.table, 'AccessExclusiveLock', {
        relkind: 'table',
        why: `its foreign key ${fk.constraint} references ${col} and is re-created`,
      });
      if (rewrite) ctx.scan(fk.table);
    }
  }
}

export function jsonFinding(table: string, col: string, ctx: StatementContext): void {
  ctx.finding(
    'prefer-jsonb',
    `${table}.${col} is json: stored as text and parsed on every read; it cannot be compared for equality or indexed with GIN.`,
  );
}

const TEXT_TYPES = new Set(['varchar', 'text', 'bpchar']);

/**
 * Narrowing a string column (varchar(50) -> varchar(20), text -> varchar(20)) to enforce a length:
 * a CHECK (length(col) <= n) gives the same guarantee without the rewrite, added NOT VALID and then
 * validated under SHARE UPDATE EXCLUSIVE by an `add_check` step.
 */
function narrowingAlternative(
  from: ColumnInfo,
  to: ParsedType,
  t: AlterTarget,
  col: string,
  when = '',
): { safe: string; step: StepSuggestion[] } | undefined {
  const n = to.mods[0];
  if (pgTypname(to) !== 'varchar' || n === undefined || !TEXT_TYPES.has(from.typname)) return undefined;
  const name = `${t.rel.name}_${col}_length`.slice(0, 63);
  const expression = `length(${col}) <= ${n}`;
  return {
    safe: `${when ? when[0]!.toUpperCase() + when.slice(1) : ''}${when ? 'keep' : 'Keep'} the type and add CHECK (${expression}) with an \`add_check\` step (NOT VALID, then VALIDATE under SHARE UPDATE EXCLUSIVE): the same limit, no rewrite. Change the type later, when the table is small or in a quiet window.`,
    step: [{ id: `check_${name}`, add_check: { table: relText(t.rel), name, expression } }],
  };
}
