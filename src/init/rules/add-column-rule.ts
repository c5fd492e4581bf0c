// ADD COLUMN with a volatile default, NOT NULL, CHECK, UNIQUE or REFERENCES → add_column (cheap,
// catalog only) + SET DEFAULT for new rows + backfill of existing rows + not_null / add_check /
// create_index / add_foreign_key, so no step rewrites or scans the table under ACCESS EXCLUSIVE.
import { findKeyword, findStop, textOf, tokenAt } from '../sql-text.js';
import type { StepDraft } from '../init-types.js';
import { columnsIn } from '../../analyze/ast.js';
import { danger, draft, identText, parenText, pgDefaultName, relName, type RuleInput, type RuleResult } from './rule-context.js';
import { foreignKeyParams } from './constraint-rule.js';

const COLUMN_STOPS = ['DEFAULT', 'NOT', 'NULL', 'CONSTRAINT', 'CHECK', 'UNIQUE', 'PRIMARY', 'REFERENCES', 'GENERATED', 'COLLATE', ','];
const UNSUPPORTED = new Set([
  'CONSTR_IDENTITY',
  'CONSTR_GENERATED',
  'CONSTR_PRIMARY',
  'CONSTR_EXCLUSION',
  'CONSTR_ATTR_DEFERRABLE',
  'CONSTR_ATTR_DEFERRED',
]);
const SERIAL = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

export async function addColumnRule(input: RuleInput, cmd: any): Promise<RuleResult | undefined> {
  const col = cmd.def?.ColumnDef;
  const a = input.analysis;
  if (!col || cmd.missing_ok) return undefined;
  const cons: any[] = (col.constraints ?? []).map((c: any) => c.Constraint);
  if (cons.some((c) => UNSUPPORTED.has(c.contype)) || col.collClause) return undefined;
  const typeNames: string[] = (col.typeName?.names ?? []).map((n: any) => n.String?.sval);
  if (SERIAL.has(typeNames[typeNames.length - 1] ?? '')) return undefined;
  const rules = new Set(a.findings.map((f) => f.rule));
  const volatile = rules.has('add-column-volatile-default');
  const notNull = cons.some((c) => c.contype === 'CONSTR_NOTNULL');
  const defaultCon = cons.find((c) => c.contype === 'CONSTR_DEFAULT');
  // NOT NULL without a default only works on an empty table: nothing to backfill from.
  if (notNull && !defaultCon) return undefined;
  const extras = cons.filter((c) => ['CONSTR_CHECK', 'CONSTR_UNIQUE', 'CONSTR_FOREIGN'].includes(c.contype));
  if (!volatile && extras.length === 0) return undefined;

  const { sql } = input.unit;
  const toks = input.toks;
  const rv = input.ast.relation;
  const table = relName(rv);
  const column = col.colname as string;
  const typeStart = tokenAt(toks, col.typeName.location);
  const type = textOf(sql, toks, typeStart, findStop(toks, typeStart, COLUMN_STOPS));
  const defText = defaultCon ? expressionAfter(input, defaultCon.location, 'DEFAULT') : undefined;
  const steps: StepDraft[] = [];
  const why = danger(a);
  const cheap = !volatile && defText !== undefined;
  steps.push(
    draft(input, {
      id: input.id(`add_${column}`),
      kind: 'add_column',
      params: { table, column, type, ...(cheap ? { default: defText } : {}), ...(cheap && notNull ? { not_null: true } : {}) },
      why: `${why} Instead: add the column ${cheap ? 'with its constant default' : 'nullable, without a default'} (catalog only, ACCESS EXCLUSIVE for milliseconds), then the rest in steps that do not block.`,
    }),
  );
  if (volatile && defText) {
    const colSql = identText(column);
    steps.push(
      draft(input, {
        id: input.id(`default_${column}`),
        kind: 'sql',
        params: `ALTER TABLE ${table} ALTER COLUMN ${colSql} SET DEFAULT ${defText}`,
        rollback: `ALTER TABLE ${table} ALTER COLUMN ${colSql} DROP DEFAULT`,
        why: `New rows get ${defText} from now on; SET DEFAULT changes only the catalog (brief ACCESS EXCLUSIVE, no rewrite).`,
      }),
      draft(input, {
        id: input.id(`backfill_${column}`),
        kind: 'backfill',
        params: { table, set: `${colSql} = ${defText}`, where: `${colSql} IS NULL` },
        rollback: `SELECT 'nothing to restore: the column is new and the add_column undo drops it'`,
        why: `Existing rows get their value in short keyset batches (ROW EXCLUSIVE, row locks on one batch at a time) instead of one rewrite under ACCESS EXCLUSIVE.`,
      }),
    );
    if (notNull) {
      steps.push(
        draft(input, {
          id: input.id(`${column}_not_null`),
          kind: 'not_null',
          params: { table, column },
          why: `NOT NULL proven by a CHECK validated under SHARE UPDATE EXCLUSIVE (reads and writes go on), then set without a scan.`,
        }),
      );
    }
  }
  for (const c of extras) steps.push(...(await extraConstraint(input, c, table, rv.relname, column)));
  return {
    steps,
    reason: `ADD COLUMN split: ${steps.map((s) => s.kind).join(' + ')}`,
    lockAfter: 'ACCESS EXCLUSIVE for milliseconds (catalog only); SHARE UPDATE EXCLUSIVE / row locks for the long parts',
  };
}

async function extraConstraint(input: RuleInput, c: any, table: string, bare: string, column: string): Promise<StepDraft[]> {
  if (c.contype === 'CONSTR_CHECK') {
    const name = c.conname ?? pgDefaultName(bare, [column], 'check');
    return [
      draft(input, {
        id: input.id(`check_${column}`),
        kind: 'add_check',
        params: { table, name, expression: parenText(input, c.location, 'CHECK') },
        why: `The CHECK is added NOT VALID (no scan), then VALIDATE reads the table under SHARE UPDATE EXCLUSIVE while reads and writes go on.`,
      }),
    ];
  }
  if (c.contype === 'CONSTR_UNIQUE') {
    const name = c.conname ?? pgDefaultName(bare, [column], 'key');
    return [
      draft(input, {
        id: input.id(`unique_${column}`),
        kind: 'create_index',
        params: { table, columns: [column], name, add_unique: true },
        lock_timeout: '1m',
        why: `The unique index is built CONCURRENTLY (SHARE UPDATE EXCLUSIVE: writes go on), then attached as the constraint with USING INDEX (brief ACCESS EXCLUSIVE, no scan).`,
      }),
    ];
  }
  const params = await foreignKeyParams(input, c, table, [column]);
  return params
    ? [
        draft(input, {
          id: input.id(`fk_${column}`),
          kind: 'add_foreign_key',
          params,
          why: 'The foreign key is added NOT VALID (no scan), then VALIDATE checks existing rows under SHARE UPDATE EXCLUSIVE.',
        }),
      ]
    : [];
}

/** The expression after KEYWORD (DEFAULT x) up to the next column constraint. */
export function expressionAfter(input: RuleInput, location: number, kw: string): string {
  const toks = input.toks;
  const k = findKeyword(toks, tokenAt(toks, location), toks.length, kw);
  return textOf(input.unit.sql, toks, k + 1, findStop(toks, k + 1, COLUMN_STOPS));
}

/** The text inside the parentheses after KEYWORD (CHECK (x)). */
