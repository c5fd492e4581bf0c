// DROP COLUMN / DROP TABLE → a baseline of its use with the expand steps, then contract steps after
// every expand step, behind a `type` gate, after a check that no other session's statements used it
// since the baseline or over a quiet minute and a manual confirmation that the
// deployed application no longer reads it. DROP INDEX → DROP INDEX CONCURRENTLY.
import { nameFromList, relText } from '../../analyze/ast.js';
import type { StepDraft } from '../init-types.js';
import { danger, draft, identText, relName, type RuleInput, type RuleResult } from './rule-context.js';

function contract(input: RuleInput, table: string, what: string, sql: string, stem: string, column?: string): StepDraft[] {
  const target = { table, ...(column ? { column } : {}) };
  return [
    draft(input, {
      id: input.id(`${stem}_baseline`),
      kind: 'unused',
      params: { ...target, stage: 'baseline' },
      why: `Records now, with the expand steps, which statements use ${what}, so the check before the drop counts every use since, not only those of its quiet minute (a job that ran once meanwhile).`,
    }),
    draft(input, {
      id: input.id(`${stem}_unused`),
      kind: 'unused',
      params: { ...target, quiet: '1m' },
      why: `Watches for a minute, and counts since the baseline step, that no other session's statement uses ${what} (pg_stat_statements; without it, pg_locks${column ? '' : ' and pg_stat_user_tables'}, as the step's output says).`,
      stage: 'contract',
    }),
    draft(input, {
      id: input.id(`${stem}_app`),
      kind: 'manual',
      params: {
        instructions: `Make sure every deployed version of the application has stopped using ${what}.`,
        checklist: [`No code path reads or writes ${what}`, 'The previous application version is no longer running'],
      },
      why: `Contract phase: ${what} is dropped only after the application stopped using it; until then an old instance would fail.`,
      stage: 'contract',
    }),
    draft(input, {
      id: input.id(stem),
      kind: 'sql',
      params: sql,
      gate: 'type',
      why: `${danger(input.analysis)} Contract step: its data is gone for good (no rollback), so it comes last, after every expand step, behind a typed confirmation.`,
      stage: 'contract',
    }),
  ];
}

export function dropColumnRule(input: RuleInput, cmd: any): RuleResult {
  const table = relName(input.ast.relation);
  const steps = contract(input, table, `column ${cmd.name} of ${table}`, input.unit.sql, `drop_${cmd.name}`, cmd.name);
  return {
    steps,
    reason: 'DROP COLUMN → contract step (later, type gate, checks first)',
    lockAfter: 'ACCESS EXCLUSIVE for milliseconds (catalog only), after the checks',
  };
}

export function dropRule(input: RuleInput): RuleResult | undefined {
  const d = input.ast;
  const objects: any[] = d.objects ?? [];
  if (d.removeType === 'OBJECT_INDEX' && !d.concurrent && objects.length === 1 && d.behavior !== 'DROP_CASCADE') {
    const name = nameFromList(objects[0].List?.items);
    if (!name) return undefined;
    const sql = `DROP INDEX CONCURRENTLY ${d.missing_ok ? 'IF EXISTS ' : ''}${relText(name)}`;
    const step = draft(input, {
      id: input.id(`drop_${name.name}`),
      kind: 'sql',
      params: sql,
      gate: 'confirm',
      why: `${danger(input.analysis)} Instead: DROP INDEX CONCURRENTLY waits for running queries under SHARE UPDATE EXCLUSIVE instead of taking ACCESS EXCLUSIVE on the table.`,
      stage: 'contract',
    });
    return { steps: [step], reason: 'DROP INDEX → DROP INDEX CONCURRENTLY', lockAfter: 'SHARE UPDATE EXCLUSIVE' };
  }
  if (d.removeType !== 'OBJECT_TABLE' || objects.length !== 1) return undefined;
  const name = nameFromList(objects[0].List?.items);
  if (!name) return undefined;
  const table = name.schema ? `${identText(name.schema)}.${identText(name.name)}` : identText(name.name);
  return {
    steps: contract(input, table, `table ${table}`, input.unit.sql, `drop_${name.name}`),
    reason: 'DROP TABLE → contract step (later, type gate, checks first)',
    lockAfter: 'ACCESS EXCLUSIVE for milliseconds, after the checks',
  };
}
