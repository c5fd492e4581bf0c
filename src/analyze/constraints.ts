// ALTER TABLE ... ADD / VALIDATE / DROP / ALTER CONSTRAINT.
// CHECK and (PG18) NOT NULL constraints take ACCESS EXCLUSIVE and scan unless NOT VALID; a foreign
// key takes SHARE ROW EXCLUSIVE on both tables and scans unless NOT VALID; VALIDATE takes SHARE
// UPDATE EXCLUSIVE; UNIQUE / PRIMARY KEY / EXCLUDE build an index under ACCESS EXCLUSIVE unless
// USING INDEX adopts one that already exists.
import { columnsIn, provesNotNull, rangeVar, strings } from './ast.js';
import type { ConstraintInfo, TableInfo } from './analysis-catalog.js';
import type { StatementContext } from './context.js';
import type { AlterTarget, SubcommandResult } from './alter-target.js';
import { rowsText, validatedNotNullCheck } from './column-changes.js';

export const CONSTRAINT_SUBTYPES = new Set([
  'AT_AddConstraint',
  'AT_ValidateConstraint',
  'AT_DropConstraint',
  'AT_AlterConstraint',
  'AT_AddIndexConstraint',
]);

export async function analyzeConstraintCommand(cmd: any, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  switch (cmd.subtype) {
    case 'AT_AddConstraint':
    case 'AT_AddIndexConstraint':
      return addConstraint(cmd.def?.Constraint, t, ctx);
    case 'AT_ValidateConstraint':
      return validateConstraint(cmd.name, t, ctx);
    case 'AT_DropConstraint':
      return dropConstraint(cmd.name, !!cmd.missing_ok, cmd.behavior === 'DROP_CASCADE', t, ctx);
    case 'AT_AlterConstraint':
      ctx.note('ALTER CONSTRAINT changes constraint attributes in the catalog');
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock' };
  }
  return { mode: 'AccessExclusiveLock' };
}

function notEnforced(c: any): boolean {
  return (c.contype === 'CONSTR_CHECK' || c.contype === 'CONSTR_FOREIGN') && c.is_enforced !== true;
}

async function addConstraint(c: any, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  if (!c) return { mode: 'AccessExclusiveLock' };
  const data = ctx.dataTables(t.name, t.info);
  const notValid = !!c.skip_validation;
  const fresh = ctx.state.createdInScript(t.rel);
  const name: string = c.conname ?? '(unnamed)';
  switch (c.contype) {
    case 'CONSTR_CHECK': {
      const info: ConstraintInfo = {
        name,
        type: 'check',
        validated: !notValid,
        columns: columnsIn(c.raw_expr),
        provesNotNull: provesNotNull(c.raw_expr),
      };
      if (notEnforced(c) && ctx.requires(18, 'NOT ENFORCED constraints')) {
        ctx.note('NOT ENFORCED: nothing is checked');
        info.validated = false;
      } else if (notValid) {
        ctx.note('NOT VALID: only new and updated rows are checked; no scan');
        ctx.finding('not-valid-needs-validate', `CHECK ${name} is added NOT VALID on ${t.name}.`);
      } else {
        for (const d of data) ctx.scan(d);
        if (!fresh)
          ctx.finding('add-check-scan', `ADD CONSTRAINT ${name} CHECK scans all of ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE.`);
      }
      ctx.state.addConstraint(t.info, info);
      if (!notValid) ctx.setWork('scan');
      else ctx.setWork('catalog');
      // NO INHERIT: the constraint stays on this table and children are not checked; before
      // PostgreSQL 18 they are not locked either (18 still opens them in ACCESS EXCLUSIVE).
      return { mode: 'AccessExclusiveLock', recurse: !c.is_no_inherit || ctx.major >= 18 };
    }
    case 'CONSTR_NOTNULL': {
      // ADD CONSTRAINT name NOT NULL col [NOT VALID]: PostgreSQL 18 syntax.
      if (!ctx.requires(18, 'ADD CONSTRAINT ... NOT NULL')) return { mode: 'AccessExclusiveLock' };
      const cols = strings(c.keys);
      for (const col of cols) {
        const colInfo = t.info?.columns.get(col);
        const proved = validatedNotNullCheck(t.info, col);
        if (notValid) {
          ctx.note(`NOT VALID: ${col} is checked for new and updated rows only; no scan`);
          ctx.finding('not-valid-needs-validate', `NOT NULL ${name} on ${col} is added NOT VALID on ${t.name}.`);
        } else if (colInfo?.notNull && !proved) {
          ctx.note(`${col} is already NOT NULL`);
        } else if (proved) {
          ctx.note(`validated constraint ${proved} proves ${col} IS NOT NULL: no scan`);
        } else {
          for (const d of data) ctx.scan(d);
          if (!fresh)
            ctx.finding(
              'add-not-null-constraint-scan',
              `ADD CONSTRAINT ${name} NOT NULL ${col} scans all of ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE.`,
            );
        }
        if (colInfo && !notValid) colInfo.notNull = true;
        ctx.state.addConstraint(t.info, { name, type: 'not null', validated: !notValid, columns: [col], provesNotNull: [col] });
      }
      return { mode: 'AccessExclusiveLock' };
    }
    case 'CONSTR_FOREIGN':
      return addForeignKey(c, name, notValid, t, ctx);
    case 'CONSTR_UNIQUE':
    case 'CONSTR_PRIMARY':
    case 'CONSTR_EXCLUSION':
      return addIndexConstraint(c, name, t, ctx);
  }
  ctx.doubt(`constraint type ${String(c.contype).replace(/^CONSTR_/, '')} is not modeled`);
  return { mode: 'AccessExclusiveLock' };
}

async function addForeignKey(c: any, name: string, notValid: boolean, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  const ref = rangeVar(c.pktable);
  const cols = strings(c.fk_attrs);
  const fresh = ctx.state.createdInScript(t.rel);
  if (ref) {
    const { name: refName, info: refInfo } = await ctx.table(ref);
    ctx.lockWithChildren(refName, refInfo, 'ShareRowExclusiveLock', 'partition of the referenced table');
    ctx.state.addConstraint(t.info, {
      name,
      type: 'foreign key',
      validated: !notValid,
      columns: cols,
      provesNotNull: [],
      refTable: refName,
      refColumns: strings(c.pk_attrs),
    });
    if (notValid && t.info?.relkind === 'p') ctx.requires(18, 'a NOT VALID foreign key on a partitioned table');
    if (notEnforced(c)) {
      ctx.requires(18, 'NOT ENFORCED constraints');
      ctx.note('NOT ENFORCED: nothing is checked');
    } else if (notValid) {
      ctx.note('NOT VALID: existing rows are not checked; no scan');
      ctx.finding('not-valid-needs-validate', `Foreign key ${name} is added NOT VALID on ${t.name}.`);
      ctx.setWork('catalog');
    } else {
      for (const d of ctx.dataTables(t.name, t.info)) ctx.scan(d);
      if (!fresh) {
        ctx.finding(
          'add-foreign-key-scan',
          `ADD FOREIGN KEY ${name} scans ${t.name}${rowsText(t.info)} while holding SHARE ROW EXCLUSIVE on ${t.name} and ${refName}: writes to both wait.`,
        );
      }
    }
    if (t.info && cols.length && !hasIndexLeadingWith(t.info, cols) && !t.info.partial) {
      ctx.finding(
        'foreign-key-unindexed',
        `No index on ${t.name}(${cols.join(', ')}): deletes and key updates on ${refName} will scan ${t.name}.`,
      );
    }
  }
  return { mode: 'ShareRowExclusiveLock' };
}

export function hasIndexLeadingWith(t: TableInfo, cols: string[]): boolean {
  for (const i of t.indexes.values()) {
    if (!i.valid) continue;
    if (cols.every((c, k) => i.columns[k] === c) || (cols.length === 1 && i.columns[0] === cols[0])) return true;
  }
  return false;
}

async function addIndexConstraint(c: any, name: string, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  const kind = c.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : c.contype === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'EXCLUDE';
  const cols = strings(c.keys);
  const data = ctx.dataTables(t.name, t.info);
  const fresh = ctx.state.createdInScript(t.rel);
  if (c.indexname) {
    // USING INDEX: adopts an existing unique index, a catalog change.
    const idx = t.info?.indexes.get(c.indexname);
    ctx.lock(idx ? c.indexname : c.indexname, 'AccessExclusiveLock', {
      relkind: 'index',
      why: 'index adopted by the constraint (renamed to it)',
    });
    if (idx && !idx.valid)
      ctx.finding('using-index-invalid', `Index ${c.indexname} is INVALID (a failed concurrent build): the constraint cannot use it.`);
    if (!idx && !ctx.live) ctx.unknownOnce(`index ${c.indexname}: whether it is valid and its columns NOT NULL`);
    const idxCols = idx?.columns ?? [];
    if (kind === 'PRIMARY KEY') {
      const nullable = idxCols.filter((col) => {
        const ci = t.info?.columns.get(col);
        return ci && !ci.notNull && !validatedNotNullCheck(t.info, col);
      });
      if (nullable.length) {
        for (const d of data) ctx.scan(d);
        ctx.finding(
          'using-index-not-null-scan',
          `ADD PRIMARY KEY USING INDEX makes ${nullable.join(', ')} NOT NULL, which scans ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE.`,
        );
      }
      for (const col of idxCols) {
        const ci = t.info?.columns.get(col);
        if (ci) ci.notNull = true;
      }
    }
    if (idx) {
      t.info!.indexes.delete(c.indexname);
      t.info!.indexes.set(c.conname ?? c.indexname, {
        ...idx,
        name: c.conname ?? c.indexname,
        constraint: c.conname,
        primary: kind === 'PRIMARY KEY',
      });
    }
    ctx.note(`${kind} USING INDEX ${c.indexname}: adopts the existing index, no build`);
    ctx.setWork('catalog');
    return { mode: 'AccessExclusiveLock' };
  }
  for (const d of data) ctx.scan(d, 'index-build');
  if (kind === 'PRIMARY KEY') {
    for (const col of cols) {
      const ci = t.info?.columns.get(col);
      if (ci) ci.notNull = true;
    }
  }
  if (!fresh) {
    const rule = kind === 'PRIMARY KEY' ? 'add-primary-key' : kind === 'UNIQUE' ? 'add-unique-constraint' : 'add-exclusion-constraint';
    ctx.finding(
      rule,
      `ADD ${kind} builds an index on ${t.name}${rowsText(t.info)} while holding ACCESS EXCLUSIVE: reads and writes wait for the build.`,
    );
  }
  if (t.info) {
    const idxName = c.conname ?? `${t.rel.name}_${cols.join('_')}_${kind === 'PRIMARY KEY' ? 'pkey' : kind === 'UNIQUE' ? 'key' : 'excl'}`;
    t.info.indexes.set(idxName, {
      name: idxName,
      columns: cols,
      unique: kind !== 'EXCLUDE',
      primary: kind === 'PRIMARY KEY',
      valid: true,
      ready: true,
      constraint: idxName,
    });
  }
  return { mode: 'AccessExclusiveLock' };
}

async function validateConstraint(name: string, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  const con = t.info?.constraints.get(name);
  const data = ctx.dataTables(t.name, t.info);
  if (con?.validated) {
    ctx.note(`${name} is already validated: nothing to do`);
    ctx.setWork('catalog');
    return { mode: 'ShareUpdateExclusiveLock' };
  }
  if (!con) {
    if (ctx.live && !t.info?.createdInScript) ctx.doubt(`constraint ${name} not found on ${t.name}: the statement would fail`);
    else ctx.unknownOnce(`the kind of constraint ${name} (a foreign key also locks the referenced table)`);
  }
  for (const d of data) ctx.scan(d);
  ctx.note('VALIDATE scans the table under SHARE UPDATE EXCLUSIVE: reads and writes continue');
  if (con?.type === 'foreign key' && con.refTable) {
    ctx.lock(con.refTable, 'RowShareLock', { relkind: 'table', why: 'referenced table, read to check every row' });
  }
  if (con) {
    con.validated = true;
    if (con.type === 'not null')
      for (const col of con.columns) {
        const ci = t.info?.columns.get(col);
        if (ci) ci.notNull = true;
      }
  }
  return { mode: 'ShareUpdateExclusiveLock' };
}

async function dropConstraint(
  name: string,
  missingOk: boolean,
  cascade: boolean,
  t: AlterTarget,
  ctx: StatementContext,
): Promise<SubcommandResult> {
  const con = t.info?.constraints.get(name);
  if (!con && ctx.live && !missingOk && !t.info?.createdInScript)
    ctx.doubt(`constraint ${name} not found on ${t.name}: the statement would fail`);
  if (con?.type === 'foreign key' && con.refTable) {
    ctx.lock(con.refTable, 'AccessExclusiveLock', { relkind: 'table', why: 'referenced table (its foreign-key triggers are dropped)' });
  }
  if (con && (con.type === 'primary key' || con.type === 'unique' || con.type === 'exclusion') && con.index) {
    ctx.lock(con.index, 'AccessExclusiveLock', { relkind: 'index', why: 'the constraint’s index is dropped' });
    t.info?.indexes.delete(con.index);
    // Foreign keys that depend on the key's index go with it (CASCADE), or make the drop fail.
    for (const fk of t.info?.incomingForeignKeys ?? []) {
      if (fk.table === t.name || !fk.refColumns.every((c) => con.columns.includes(c))) continue;
      if (cascade)
        ctx.lock(fk.table, 'AccessExclusiveLock', { relkind: 'table', why: `its foreign key ${fk.constraint} is dropped (CASCADE)` });
      else ctx.doubt(`${fk.table} references this key (${fk.constraint}): DROP CONSTRAINT fails without CASCADE`);
    }
  }
  if (!con && !ctx.live) ctx.unknownOnce(`the kind of constraint ${name} (dropping a foreign key also locks the referenced table)`);
  t.info?.constraints.delete(name);
  ctx.setWork('catalog');
  return { mode: 'AccessExclusiveLock' };
}
