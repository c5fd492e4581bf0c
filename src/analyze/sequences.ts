// Sequences. ALTER SEQUENCE takes SHARE ROW EXCLUSIVE on the sequence (OWNED BY also reads the new
// owning table); nextval / setval / currval take ROW EXCLUSIVE on it when they run; a sequence owned
// by a column (serial, identity) follows its table: dropped, moved or reset with it.
import type { LockMode } from '../pg/lock-modes.js';
import { rangeVar, strings, walk } from './ast.js';
import type { TableInfo } from './analysis-catalog.js';
import type { StatementContext } from './context.js';

export async function analyzeAlterSequence(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.sequence);
  if (!rel) return;
  const { name } = await ctx.table(rel);
  ctx.lock(name, 'ShareRowExclusiveLock', { relkind: 'sequence' });
  await lockNewOwner(ast.options, ctx);
  const restart = (ast.options ?? []).some((o: any) => o.DefElem?.defname === 'restart');
  if (restart) ctx.note('RESTART: the next value handed out changes at once; rows already written keep theirs');
  ctx.setWork('catalog');
}

export async function analyzeCreateSequence(ast: any, ctx: StatementContext): Promise<void> {
  await lockNewOwner(ast.options, ctx);
  ctx.setWork('catalog');
}

/** OWNED BY table.column reads the table (ACCESS SHARE); OWNED BY NONE touches no table. */
async function lockNewOwner(options: any[] | undefined, ctx: StatementContext): Promise<void> {
  const def = (options ?? []).find((o: any) => o.DefElem?.defname === 'owned_by')?.DefElem;
  const parts = strings(def?.arg?.List?.items);
  if (parts.length < 2) return;
  const table = parts.length > 2 ? { schema: parts[parts.length - 3], name: parts[parts.length - 2]! } : { name: parts[0]! };
  const { name, info } = await ctx.table(table);
  ctx.lock(name, 'AccessShareLock', { table: info, why: 'new owner of the sequence' });
}

const SEQUENCE_FUNCTIONS = new Set(['nextval', 'setval', 'currval']);

/** nextval('s'), setval('s', n), currval('s') with a literal name: ROW EXCLUSIVE on s when executed. */
export async function lockSequenceCalls(ast: any, ctx: StatementContext): Promise<void> {
  const names: string[] = [];
  walk(ast, (k, v) => {
    if (k !== 'FuncCall') return;
    const fn = strings(v.funcname);
    if (!SEQUENCE_FUNCTIONS.has(fn[fn.length - 1] ?? '') || (fn.length > 1 && fn[0] !== 'pg_catalog')) return;
    const arg = v.args?.[0];
    const literal = arg?.A_Const?.sval?.sval ?? arg?.TypeCast?.arg?.A_Const?.sval?.sval;
    if (typeof literal === 'string') names.push(literal);
  });
  for (const text of names) {
    const parts = text.split('.');
    const r = parts.length > 1 ? { schema: parts[0], name: parts[1]! } : { name: parts[0]! };
    const { name } = await ctx.table(r);
    ctx.lock(name, 'RowExclusiveLock', { relkind: 'sequence', why: 'sequence function' });
  }
}

/** Sequences owned by the table's columns (all, or one column's), locked as the table's change requires. */
export function lockOwnedSequences(ctx: StatementContext, info: TableInfo | undefined, mode: LockMode, why: string, column?: string): void {
  for (const s of info?.ownedSequences ?? []) {
    if (column === undefined || s.column === column) ctx.lock(s.sequence, mode, { relkind: 'sequence', why });
  }
  if (info && !info.partial && !info.createdInScript && info.ownedSequences === undefined)
    ctx.doubt(`which sequences ${info.name} owns (they are locked too)`);
  if (!info || info.partial)
    ctx.unknownOnce(`which sequences ${info?.name ?? 'the table'} owns (serial and identity columns; they are locked too)`);
}
