// ALTER TABLE ... ADD COLUMN. Since PostgreSQL 11 a non-volatile default is stored in the catalog
// (no rewrite); a volatile default, serial, identity, a GENERATED STORED column or a domain with
// constraints fills every row (rewrite under ACCESS EXCLUSIVE). Column constraints add their own
// work: CHECK validates by scanning, UNIQUE / PRIMARY KEY build an index, REFERENCES locks the
// referenced table.
import { rangeVar, strings, typeName, provesNotNull, columnsIn } from './ast.js';
import type { ColumnInfo } from './analysis-catalog.js';
import type { StatementContext } from './context.js';
import type { AlterTarget, SubcommandResult } from './alter-target.js';
import { expressionVolatility } from './volatility.js';
import { pgTypname } from './type-change.js';
import { jsonFinding, rowsText } from './column-changes.js';

const SERIAL = new Set(['serial', 'bigserial', 'smallserial', 'serial2', 'serial4', 'serial8']);

/** The column an ADD COLUMN adds, with its constraints by kind. */
interface NewColumn {
  col: string;
  type: ReturnType<typeof typeName>;
  byType: (k: string) => any[];
  serial: boolean;
  identity: any;
  generated: any;
  dflt: any;
  notNull: boolean;
  data: ReturnType<StatementContext['dataTables']>;
}

export async function analyzeAddColumn(cmd: any, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  const def = cmd.def?.ColumnDef;
  if (!def) return { mode: 'AccessExclusiveLock' };
  const col: string = def.colname;
  const type = typeName(def.typeName);
  const cons: any[] = (def.constraints ?? []).map((c: any) => c.Constraint).filter(Boolean);
  const byType = (k: string) => cons.filter((c) => c.contype === k);
  const data = ctx.dataTables(t.name, t.info);
  const existsAlready = t.info?.columns.has(col);
  if (existsAlready && cmd.missing_ok) {
    ctx.note(`column ${col} already exists: ADD COLUMN IF NOT EXISTS does nothing`);
    return { mode: 'AccessExclusiveLock' };
  }

  if (type && pgTypname(type) === 'json') jsonFinding(t.name, col, ctx);
  const nc: NewColumn = {
    col,
    type,
    byType,
    serial: !!(type && SERIAL.has(type.name)),
    identity: byType('CONSTR_IDENTITY')[0],
    generated: byType('CONSTR_GENERATED')[0],
    dflt: byType('CONSTR_DEFAULT')[0],
    notNull: byType('CONSTR_NOTNULL').length > 0 || byType('CONSTR_PRIMARY').length > 0,
    data,
  };
  const rewriteWhy = (await fillRewrite(nc, t, ctx)) ?? (await domainRewrite(nc, t, ctx));
  if (rewriteWhy) {
    for (const d of data) ctx.rewrite(d);
    ctx.note(`rewrite: ${rewriteWhy}`);
  } else if (nc.notNull && !nc.dflt && !nc.identity && !nc.serial && !nc.generated) {
    // Phase 3 scans for NULLs, and finds one on the first row of a non-empty table.
    for (const d of data) ctx.scan(d);
    if (!ctx.state.createdInScript(t.rel)) {
      ctx.finding(
        'add-column-not-null-without-default',
        `ADD COLUMN ${col} ... NOT NULL without a default fails on a table that has rows (every row would be NULL).`,
      );
    }
  }
  addColumnChecks(nc, t, ctx, !!rewriteWhy);
  for (const c of [...byType('CONSTR_UNIQUE'), ...byType('CONSTR_PRIMARY')]) {
    for (const d of data) ctx.scan(d, 'index-build');
    const kind = c.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE';
    ctx.finding('add-column-with-unique', `${kind} on new column ${col} builds an index on ${t.name} while holding ACCESS EXCLUSIVE.`);
  }
  for (const c of byType('CONSTR_FOREIGN')) await addColumnForeignKey(nc, c, t, ctx);
  recordNewColumn(nc, t);
  return { mode: 'AccessExclusiveLock' };
}

/** Why filling the existing rows rewrites the table (serial, identity, STORED generated, volatile default), if it does. */
async function fillRewrite(nc: NewColumn, t: AlterTarget, ctx: StatementContext): Promise<string | undefined> {
  const { col, type, identity, generated, dflt } = nc;
  if (nc.serial) {
    ctx.finding(
      'add-column-serial',
      `ADD COLUMN ${col} ${type!.name} rewrites ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE: every row gets a value from the new sequence.`,
    );
    return `${type!.name} fills every existing row from a sequence`;
  }
  if (identity) {
    ctx.finding(
      'add-column-serial',
      `ADD COLUMN ${col} ... GENERATED AS IDENTITY rewrites ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE: every row gets a value from the sequence.`,
    );
    return 'an identity column fills every existing row from its sequence';
  }
  if (generated) {
    const stored = generated.generated_kind !== 'v';
    if (!stored && !ctx.requires(18, 'a VIRTUAL generated column')) {
      // Older servers reject the statement; nothing else to predict.
    } else if (stored) {
      ctx.finding(
        'add-column-generated-stored',
        `ADD COLUMN ${col} GENERATED ... STORED rewrites ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE.`,
      );
      return 'a STORED generated column is computed for every row';
    } else ctx.note('a VIRTUAL generated column is computed on read: no rewrite');
    return undefined;
  }
  if (!dflt) return undefined;
  const v = await expressionVolatility(dflt.raw_expr, ctx.live ? ctx.session.catalog : undefined);
  if (v.volatility === 'volatile') {
    ctx.finding(
      'add-column-volatile-default',
      `ADD COLUMN ${col} with a volatile default (${v.because.join(', ')}) rewrites ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE: each row gets its own value.`,
    );
    return `the default calls volatile ${v.because.join(', ')}`;
  }
  if (v.unknown.length) {
    if (ctx.live) ctx.doubt(`function ${v.unknown.join(', ')} not found: the statement would fail`);
    else ctx.unknownOnce(`the volatility of ${v.unknown.join(', ')} in the default (a volatile one rewrites the table)`);
  }
  ctx.note(`the default is ${v.volatility === 'stable' ? 'stable' : 'a constant'}: evaluated once and stored in the catalog, no rewrite`);
  return undefined;
}

/** A domain with constraints is checked for every row, default or not. */
async function domainRewrite(nc: NewColumn, t: AlterTarget, ctx: StatementContext): Promise<string | undefined> {
  const { col, type } = nc;
  if (!type || nc.serial) return undefined;
  const constrained =
    ctx.session.catalog && ctx.live ? await ctx.session.catalog.typeIsConstrainedDomain(type.schema, type.name) : undefined;
  if (constrained && (nc.dflt || !nc.generated)) {
    ctx.finding(
      'add-column-domain-check',
      `ADD COLUMN ${col} ${type.name}: the domain's constraints are evaluated for every row, which rewrites ${t.name}${rowsText(t.info)}.`,
    );
    return `${type.name} is a domain with constraints: every row is checked`;
  }
  if (constrained === undefined && !ctx.live && !isBuiltinType(type.name)) {
    ctx.unknownOnce(`whether type ${type.name} is a domain with constraints (that would rewrite the table)`);
  }
  return undefined;
}

function addColumnChecks(nc: NewColumn, t: AlterTarget, ctx: StatementContext, rewritten: boolean): void {
  const { col } = nc;
  for (const c of nc.byType('CONSTR_CHECK')) {
    for (const d of nc.data) if (!rewritten) ctx.scan(d);
    ctx.finding('add-column-with-check', `The CHECK on new column ${col} is validated by scanning ${t.name} under ACCESS EXCLUSIVE.`);
    const name = c.conname ?? `${t.rel.name}_${col}_check`;
    t.info?.constraints.set(name, {
      name,
      type: 'check',
      validated: true,
      columns: columnsIn(c.raw_expr),
      provesNotNull: provesNotNull(c.raw_expr),
    });
  }
}

async function addColumnForeignKey(nc: NewColumn, c: any, t: AlterTarget, ctx: StatementContext): Promise<void> {
  const { col } = nc;
  const ref = rangeVar(c.pktable);
  if (!ref) return;
  const { name: refName, info: refInfo } = await ctx.table(ref);
  ctx.lock(refName, 'ShareRowExclusiveLock', { table: refInfo, why: 'referenced table (the foreign key adds triggers to it)' });
  ctx.note(`the new column is NULL in every row (or has the default), so the foreign key to ${refName} is not validated by a scan`);
  if (nc.dflt) ctx.doubt('a foreign key on a new column with a default: whether PostgreSQL validates it by a scan');
  ctx.finding(
    'foreign-key-unindexed',
    `New column ${col} references ${refName} but has no index: deletes and key updates on ${refName} will scan ${t.name}.`,
    {
      severity: 'info',
    },
  );
  const fkName = c.conname ?? `${t.rel.name}_${col}_fkey`;
  t.info?.constraints.set(fkName, {
    name: fkName,
    type: 'foreign key',
    validated: true,
    columns: [col],
    provesNotNull: [],
    refTable: refName,
    refColumns: strings(c.pk_attrs),
  });
}

/** Later statements of the script see the new column. */
function recordNewColumn(nc: NewColumn, t: AlterTarget): void {
  const { col, type } = nc;
  if (!t.info || !type) return;
  const info: ColumnInfo = {
    name: col,
    type: type.name + (type.mods.length ? `(${type.mods.join(',')})` : ''),
    typname: SERIAL.has(type.name) ? (type.name.startsWith('big') || type.name === 'serial8' ? 'int8' : 'int4') : pgTypname(type),
    typschema: type.schema ?? 'pg_catalog',
    mods: type.mods,
    notNull: nc.notNull || nc.serial || !!nc.identity,
    domainWithConstraints: false,
    identity: !!nc.identity,
    generated: !!nc.generated,
  };
  t.info.columns.set(col, info);
}

function isBuiltinType(name: string): boolean {
  return /^(int[248]?|integer|smallint|bigint|numeric|decimal|float[48]?|real|text|varchar|bpchar|char|bool|boolean|date|time|timetz|timestamp|timestamptz|interval|uuid|jsonb?|bytea|inet|cidr|macaddr8?|bit|varbit|oid|xml|money|tsvector|tsquery|point|box|line|lseg|path|polygon|circle|int4range|int8range|numrange|tsrange|tstzrange|daterange)$/.test(
    name,
  );
}
