// ADD CONSTRAINT (FOREIGN KEY, CHECK, UNIQUE, PRIMARY KEY) and SET NOT NULL → the kinds that add
// them without holding a strong lock through a scan or an index build.
import { strings, columnsIn } from '../../analyze/ast.js';
import type { StepDraft } from '../init-types.js';
import { danger, draft, parenText, pgDefaultName, relName, type RuleInput, type RuleResult } from './rule-context.js';

const FK_ACTIONS: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };

export async function foreignKeyParams(
  input: RuleInput,
  c: any,
  table: string,
  columns: string[],
): Promise<Record<string, unknown> | undefined> {
  if (c.deferrable || c.initdeferred || (c.fk_matchtype && c.fk_matchtype !== 's') || c.fk_del_set_cols) return undefined;
  const refTable = relName(c.pktable);
  let refColumns = strings(c.pk_attrs);
  if (refColumns.length === 0) refColumns = (await input.primaryKey(refTable)) ?? [];
  if (refColumns.length !== columns.length) return undefined;
  const bare = input.ast.relation.relname as string;
  return {
    table,
    columns,
    references: { table: refTable, columns: refColumns },
    name: c.conname ?? pgDefaultName(bare, columns, 'fkey'),
    ...(c.fk_del_action && c.fk_del_action !== 'a' ? { on_delete: FK_ACTIONS[c.fk_del_action] } : {}),
    ...(c.fk_upd_action && c.fk_upd_action !== 'a' ? { on_update: FK_ACTIONS[c.fk_upd_action] } : {}),
  };
}

export async function addConstraintRule(input: RuleInput, cmd: any): Promise<RuleResult | undefined> {
  const c = cmd.def?.Constraint;
  if (!c || c.skip_validation || c.indexname || c.deferrable || c.initdeferred) return undefined;
  const table = relName(input.ast.relation);
  const bare = input.ast.relation.relname as string;
  const why = danger(input.analysis);
  if (c.contype === 'CONSTR_FOREIGN') {
    const params = await foreignKeyParams(input, c, table, strings(c.fk_attrs));
    if (!params) return undefined;
    const step = draft(input, {
      id: input.id(`fk_${params.name}`),
      kind: 'add_foreign_key',
      params,
      why: `${why} Instead: NOT VALID (SHARE ROW EXCLUSIVE on both tables for a moment, no scan), then VALIDATE under SHARE UPDATE EXCLUSIVE while writes go on.`,
    });
    return {
      steps: [step],
      reason: 'FOREIGN KEY → add_foreign_key (NOT VALID, then VALIDATE)',
      lockAfter: 'SHARE ROW EXCLUSIVE for milliseconds, then SHARE UPDATE EXCLUSIVE',
    };
  }
  if (c.contype === 'CONSTR_CHECK') {
    const expression = parenText(input, c.location, 'CHECK');
    if (c.is_no_inherit) return undefined;
    const cols = columnsIn(c.raw_expr);
    const name = c.conname ?? pgDefaultName(bare, cols.slice(0, 1), 'check');
    const step = draft(input, {
      id: input.id(`check_${name}`),
      kind: 'add_check',
      params: { table, name, expression },
      why: `${why} Instead: NOT VALID (brief ACCESS EXCLUSIVE, no scan), then VALIDATE under SHARE UPDATE EXCLUSIVE.`,
    });
    return {
      steps: [step],
      reason: 'CHECK → add_check (NOT VALID, then VALIDATE)',
      lockAfter: 'ACCESS EXCLUSIVE for milliseconds, then SHARE UPDATE EXCLUSIVE',
    };
  }
  if (c.contype === 'CONSTR_UNIQUE' || c.contype === 'CONSTR_PRIMARY') return uniqueRule(input, c, table, bare, why);
  return undefined;
}

function uniqueRule(input: RuleInput, c: any, table: string, bare: string, why: string): RuleResult | undefined {
  if (c.including || c.options || c.indexspace || c.nulls_not_distinct || c.without_overlaps) return undefined;
  const columns = strings(c.keys);
  if (columns.length === 0) return undefined;
  const pk = c.contype === 'CONSTR_PRIMARY';
  const name = c.conname ?? (pk ? `${bare}_pkey` : pgDefaultName(bare, columns, 'key'));
  const steps: StepDraft[] = [];
  // PRIMARY KEY makes its columns NOT NULL; done first without a scan under ACCESS EXCLUSIVE.
  if (pk) {
    for (const column of columns) {
      steps.push(
        draft(input, {
          id: input.id(`${column}_not_null`),
          kind: 'not_null',
          params: { table, column },
          why: `The primary key needs ${column} NOT NULL: proven by a CHECK validated under SHARE UPDATE EXCLUSIVE, then set without a scan.`,
        }),
      );
    }
  }
  steps.push(
    draft(input, {
      id: input.id(pk ? `pkey_${bare}` : `unique_${name}`),
      kind: 'create_index',
      params: { table, columns, name, [pk ? 'add_primary_key' : 'add_unique']: true },
      lock_timeout: '1m',
      why: `${why} Instead: CREATE UNIQUE INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE: reads and writes go on), then ADD CONSTRAINT ${name} ${pk ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX (brief ACCESS EXCLUSIVE, no scan).`,
    }),
  );
  return {
    steps,
    reason: `${pk ? 'PRIMARY KEY' : 'UNIQUE'} → ${steps.map((s) => s.kind).join(' + ')} (index built concurrently, USING INDEX)`,
    lockAfter: 'SHARE UPDATE EXCLUSIVE for the build; ACCESS EXCLUSIVE for milliseconds to attach',
  };
}

export function setNotNullRule(input: RuleInput, cmd: any): RuleResult | undefined {
  const column = cmd.name as string;
  const table = relName(input.ast.relation);
  const step = draft(input, {
    id: input.id(`${column}_not_null`),
    kind: 'not_null',
    params: { table, column },
    why: `${danger(input.analysis)} Instead: a CHECK (${column} IS NOT NULL) added NOT VALID and validated under SHARE UPDATE EXCLUSIVE, so SET NOT NULL skips the scan (PostgreSQL 18: NOT NULL … NOT VALID, then VALIDATE).`,
  });
  return {
    steps: [step],
    reason: 'SET NOT NULL → not_null (validated CHECK first)',
    lockAfter: 'SHARE UPDATE EXCLUSIVE for the scan; ACCESS EXCLUSIVE for milliseconds',
  };
}
