// Checks on SQL fragments a runbook supplies to the DDL kinds (a column type, a default or
// CHECK expression, an index WHERE clause). Each is parsed by the real PostgreSQL parser inside
// a fixed statement, so a fragment can only ever be what its field says it is: a `type` that
// smuggles in `; DROP TABLE x` or `DEFAULT random()` is rejected before any database is touched.
import { loadParser } from '../../pg/sqlparse.js';
import { parseSync } from 'libpg-query';

export class FragmentError extends Error {}

function parse(sql: string): any[] {
  try {
    return (parseSync(sql) as any).stmts ?? [];
  } catch (err: any) {
    throw new FragmentError(`does not parse: ${err?.message ?? err}`);
  }
}

export interface ParsedType {
  /** Last name part, lower case (`int8`, `bigserial`, `numeric`). */
  name: string;
}

/** A column type only: no constraints, defaults, identity or generation clauses. */
export async function checkTypeName(type: string): Promise<ParsedType> {
  await loadParser();
  const stmts = parse(`ALTER TABLE x ADD COLUMN y ${type}`);
  const cmds = stmts[0]?.stmt?.AlterTableStmt?.cmds;
  const col = cmds?.[0]?.AlterTableCmd?.def?.ColumnDef;
  if (stmts.length !== 1 || cmds?.length !== 1 || !col) throw new FragmentError(`"${type}" is not a single column type`);
  if ((col.constraints ?? []).length > 0 || col.raw_default || col.collClause) {
    throw new FragmentError(`"${type}" must be only a type name; put defaults and NOT NULL in their own keys`);
  }
  const names: any[] = col.typeName?.names ?? [];
  return { name: String(names[names.length - 1]?.String?.sval ?? '').toLowerCase() };
}

/** One scalar expression (a default, a CHECK, a WHERE predicate). Returns the function names it calls. */
export async function checkExpression(expr: string): Promise<{ functions: string[] }> {
  await loadParser();
  const stmts = parse(`SELECT (${expr})`);
  const sel = stmts[0]?.stmt?.SelectStmt;
  if (stmts.length !== 1 || !sel || sel.targetList?.length !== 1 || sel.fromClause || sel.whereClause) {
    throw new FragmentError(`"${expr}" is not a single expression`);
  }
  const functions = new Set<string>();
  collectFuncs(sel, functions);
  return { functions: [...functions] };
}

/** One index element: a column or a parenthesised expression, with optional opclass/order. */
export async function checkIndexElement(elem: string): Promise<void> {
  await loadParser();
  const stmts = parse(`CREATE INDEX x ON y (${elem})`);
  const idx = stmts[0]?.stmt?.IndexStmt;
  if (stmts.length !== 1 || !idx || idx.indexParams?.length !== 1)
    throw new FragmentError(`"${elem}" is not a single index column or expression`);
}

function collectFuncs(node: any, out: Set<string>): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach((n) => collectFuncs(n, out));
  if (node.FuncCall) {
    const parts: any[] = node.FuncCall.funcname ?? [];
    out.add(String(parts[parts.length - 1]?.String?.sval ?? '').toLowerCase());
  }
  if (node.SubLink) out.add('(subquery)');
  for (const v of Object.values(node)) collectFuncs(v, out);
}

/** Types whose ADD COLUMN creates a sequence default: a volatile default, so a full rewrite. */
export const SERIAL_TYPES = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

/** Volatile built-ins commonly used as defaults (offline heuristic; the live probe is authoritative). */
export const KNOWN_VOLATILE = new Set([
  'random',
  'random_normal',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'nextval',
  'setval',
  'txid_current',
  'pg_current_xact_id',
]);
