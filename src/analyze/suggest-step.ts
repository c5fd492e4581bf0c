// The runbook step that does safely what a finding warns about, as YAML the operator can paste
// into a runbook. Built from the statement itself (its table, columns and SQL fragments); when a
// fragment cannot be cut out of the source reliably, no step is suggested rather than a wrong one.
import { stringify } from 'yaml';
import { strings, relText, rangeVar } from './ast.js';
import type { Finding } from './analysis-types.js';

export type StepSuggestion = Record<string, unknown>;

export function stepYaml(steps: StepSuggestion[]): string {
  return stringify(steps, { lineWidth: 0 }).trimEnd();
}

/** The statement as the suggestion builders see it. */
export interface StatementSource {
  node: string;
  ast: any;
  /** The statement's text and the offset of its first character in the parsed input. */
  sql: string;
  offset: number;
}

const slug = (s: string) =>
  s
    .replace(/[^a-zA-Z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
    .toLowerCase();

/** Text from an AST location up to a stop pattern (or the end), trimmed. */
function textFrom(src: StatementSource, location: number | undefined, stop: RegExp): string | undefined {
  if (typeof location !== 'number') return undefined;
  const rest = src.sql.slice(location - src.offset);
  const m = stop.exec(rest);
  const text = (m ? rest.slice(0, m.index) : rest).replace(/;\s*$/, '').trim();
  return text || undefined;
}

/** The inside of the first parenthesis after `from` (quotes respected). */
function parenthesized(src: StatementSource, from: number | undefined): string | undefined {
  if (typeof from !== 'number') return undefined;
  const s = src.sql;
  let i = s.indexOf('(', from - src.offset);
  if (i < 0) return undefined;
  const start = ++i;
  let depth = 1;
  for (; i < s.length && depth > 0; i++) {
    if (s[i] === "'") i = s.indexOf("'", i + 1);
    else if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    if (i < 0) return undefined;
  }
  return depth === 0 ? s.slice(start, i - 1).trim() : undefined;
}

function alterCmd(src: StatementSource, subtype: string): any {
  const cmds = (src.ast.cmds ?? []).map((c: any) => c.AlterTableCmd);
  return cmds.length === 1 && cmds[0]?.subtype === subtype ? cmds[0] : undefined;
}

function tableOf(src: StatementSource): string | undefined {
  const r = rangeVar(src.ast.relation);
  return r ? relText(r) : undefined;
}

function notNullStep(src: StatementSource): StepSuggestion[] | undefined {
  const table = tableOf(src);
  const cmd = alterCmd(src, 'AT_SetNotNull');
  const c = src.ast.cmds?.[0]?.AlterTableCmd?.def?.Constraint;
  const column = cmd?.name ?? (c?.contype === 'CONSTR_NOTNULL' ? strings(c.keys)[0] : undefined);
  if (!table || !column) return undefined;
  return [{ id: `not_null_${slug(column)}`, not_null: { table, column } }];
}

function addCheckStep(src: StatementSource): StepSuggestion[] | undefined {
  const table = tableOf(src);
  const c = alterCmd(src, 'AT_AddConstraint')?.def?.Constraint;
  if (!table || c?.contype !== 'CONSTR_CHECK') return undefined;
  const checkAt = src.sql.toUpperCase().indexOf('CHECK', c.location - src.offset);
  const expression = checkAt < 0 ? undefined : parenthesized(src, checkAt + src.offset);
  if (!expression) return undefined;
  const name = c.conname ?? `${slug(rangeVar(src.ast.relation)!.name)}_check`;
  return [{ id: `check_${slug(name)}`, add_check: { table, name, expression } }];
}

function foreignKeyStep(src: StatementSource): StepSuggestion[] | undefined {
  const table = tableOf(src);
  const c = alterCmd(src, 'AT_AddConstraint')?.def?.Constraint;
  const ref = rangeVar(c?.pktable);
  if (!table || c?.contype !== 'CONSTR_FOREIGN' || !ref) return undefined;
  const columns = strings(c.fk_attrs);
  const refColumns = strings(c.pk_attrs);
  const step: Record<string, unknown> = {
    table,
    columns,
    references: { table: relText(ref), ...(refColumns.length ? { columns: refColumns } : {}) },
  };
  if (c.conname) step.name = c.conname;
  return [{ id: `fk_${slug(columns.join('_'))}`, add_foreign_key: step }];
}

function createIndexStep(src: StatementSource, unique?: 'add_unique' | 'add_primary_key'): StepSuggestion[] | undefined {
  if (unique) {
    const table = tableOf(src);
    const c = alterCmd(src, 'AT_AddConstraint')?.def?.Constraint;
    const columns = strings(c?.keys);
    if (!table || !columns.length || c?.indexname) return undefined;
    const step: Record<string, unknown> = { table, columns, unique: true, [unique]: true };
    if (c.conname) step.name = c.conname;
    return [{ id: `index_${slug(columns.join('_'))}`, create_index: step }];
  }
  const a = src.ast;
  const table = tableOf(src);
  const columns = (a.indexParams ?? []).map((p: any) => p.IndexElem?.name);
  if (!table || !columns.length || columns.some((c: unknown) => typeof c !== 'string') || a.whereClause) return undefined;
  const step: Record<string, unknown> = { table, columns };
  if (a.idxname) step.name = a.idxname;
  if (a.unique) step.unique = true;
  if (a.accessMethod && a.accessMethod !== 'btree') step.using = a.accessMethod;
  const include = (a.indexIncludingParams ?? []).map((p: any) => p.IndexElem?.name).filter(Boolean);
  if (include.length) step.include = include;
  return [{ id: `index_${slug(a.idxname ?? columns.join('_'))}`, lock_timeout: '1m', create_index: step }];
}

/** UPDATE t SET ... [WHERE ...] with no alias, FROM, RETURNING or WITH: the same SET and WHERE in batches. */
function backfillStep(src: StatementSource): StepSuggestion[] | undefined {
  const a = src.ast;
  if (src.node !== 'UpdateStmt' || a.fromClause || a.returningList || a.withClause || a.relation?.alias) return undefined;
  const m = /^UPDATE\s+(?:ONLY\s+)?\S+\s+SET\s+([\s\S]+?)(?:\s+WHERE\s+([\s\S]+?))?\s*;?\s*$/i.exec(src.sql);
  const table = tableOf(src);
  if (!m || !table || /\bwhere\b/i.test(m[1]!) || /\(\s*select\b/i.test(m[1]!)) return undefined;
  return [
    { id: `backfill_${slug(rangeVar(a.relation)!.name)}`, backfill: { table, set: m[1]!.trim(), ...(m[2] ? { where: m[2].trim() } : {}) } },
  ];
}

const COLUMN_TAIL = /\s+(?:DEFAULT|NOT\s+NULL|NULL|CONSTRAINT|CHECK|UNIQUE|PRIMARY|REFERENCES|GENERATED|COLLATE)\b|\s*,|\s*;?\s*$/i;

/** ADD COLUMN c type DEFAULT volatile(): add it plain, then fill it in batches. */
function addColumnBackfillSteps(src: StatementSource): StepSuggestion[] | undefined {
  const table = tableOf(src);
  const def = alterCmd(src, 'AT_AddColumn')?.def?.ColumnDef;
  if (!table || !def) return undefined;
  const type = textFrom(src, def.typeName?.location, COLUMN_TAIL);
  const dflt = (def.constraints ?? []).map((c: any) => c.Constraint).find((c: any) => c?.contype === 'CONSTR_DEFAULT');
  const expr = textFrom(
    src,
    dflt?.raw_expr ? dflt.location : undefined,
    /\s+(?:NOT\s+NULL|NULL|CONSTRAINT|CHECK|UNIQUE|PRIMARY|REFERENCES)\b|\s*;?\s*$/i,
  )?.replace(/^DEFAULT\s+/i, '');
  if (!type || !expr) return undefined;
  const col: string = def.colname;
  return [
    { id: `add_${slug(col)}`, add_column: { table, column: col, type } },
    { id: `backfill_${slug(col)}`, backfill: { table, set: `${col} = ${expr}`, where: `${col} IS NULL` } },
  ];
}

/** ALTER COLUMN c TYPE x: rebuild next to the table with a swap. */
function swapTableStep(src: StatementSource): StepSuggestion[] | undefined {
  const table = tableOf(src);
  const cmd = alterCmd(src, 'AT_AlterColumnType');
  const cdef = cmd?.def?.ColumnDef;
  const type = textFrom(src, cdef?.typeName?.location, /\s+(?:USING|COLLATE)\b|\s*;?\s*$/i);
  if (!table || !cmd || !type) return undefined;
  const column: Record<string, string> = { name: cmd.name, type };
  const using = cdef.raw_default ? textFrom(src, cdef.raw_default.location, /\s*;?\s*$/) : undefined;
  if (using) column.using = using;
  return [{ id: `swap_${slug(rangeVar(src.ast.relation)!.name)}`, swap_table: { table, columns: [column] } }];
}

const BUILDERS: Partial<Record<string, (src: StatementSource) => StepSuggestion[] | undefined>> = {
  'set-not-null-scan': notNullStep,
  'add-not-null-constraint-scan': notNullStep,
  'add-check-scan': addCheckStep,
  'add-foreign-key-scan': foreignKeyStep,
  'create-index-blocks-writes': (s) => createIndexStep(s),
  'add-unique-constraint': (s) => createIndexStep(s, 'add_unique'),
  'add-primary-key': (s) => createIndexStep(s, 'add_primary_key'),
  'update-without-where': backfillStep,
  'large-dml': backfillStep,
  'backfill-in-one-statement': backfillStep,
  'add-column-volatile-default': addColumnBackfillSteps,
  'alter-column-type-rewrite': swapTableStep,
};

/** Attaches the suggested step's YAML to each of our findings that has one and none yet. */
export function attachSteps(findings: Finding[], src: StatementSource): void {
  for (const f of findings) {
    if (f.source !== 'pgrunbook' || f.runbook_step) continue;
    const steps = BUILDERS[f.rule]?.(src);
    if (steps) f.runbook_step = stepYaml(steps);
  }
}
