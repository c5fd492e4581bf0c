// Column changes the running application would notice → change_column expand/contract, with the
// application's part as `manual` steps (a rename's reads switch behind a flag the expand step sets):
//   - ALTER COLUMN … TYPE that rewrites, on a column nothing else uses (known from the live catalog;
//     otherwise column-type-rule.ts keeps swap_table, which carries indexes and constraints over);
//   - RENAME COLUMN: the old version keeps writing the old name, the new version the new one, a
//     trigger keeps both equal until the contract;
//   - RENAME TABLE: the rename plus an updatable view under the old name in one transaction, the
//     view dropped in the contract.
import { unknownRelation, type TableInfo } from '../../analyze/analysis-catalog.js';
import type { StepDraft } from '../init-types.js';
import { danger, draft, identText, relName, type RuleInput, type RuleResult } from './rule-context.js';

/** Why change_column cannot take this column (empty = it can); undefined = the table is unknown (no --db). */
export function columnBlockers(t: TableInfo | undefined, column: string): string[] | undefined {
  if (unknownRelation(t)) return undefined;
  const out: string[] = [];
  const c = t!.columns.get(column);
  if (!c) return [`${t!.name} has no column ${column} in the catalog`];
  if (c.identity || c.generated) out.push(`${column} is an identity or generated column`);
  if (t!.relkind === 'p' || t!.partitionOf) out.push(`${t!.name} is partitioned`);
  if (![...t!.constraints.values()].some((k) => k.type === 'primary key')) out.push(`${t!.name} has no primary key`);
  for (const ix of t!.indexes.values())
    if (ix.columns.includes(column) || ix.expressionColumns?.includes(column)) out.push(`index ${ix.name} uses ${column}`);
  for (const k of t!.constraints.values())
    if (k.type !== 'not null' && !k.index && k.columns.includes(column)) out.push(`constraint ${k.name} uses ${column}`);
  for (const fk of t!.incomingForeignKeys)
    if (fk.refColumns.includes(column)) out.push(`foreign key ${fk.constraint} on ${fk.table} references ${column}`);
  if (t!.triggers?.some((g) => !g.internal)) out.push(`${t!.name} has triggers of its own`);
  if (t!.dependentViews?.length) out.push(`views read ${t!.name} (${t!.dependentViews.join(', ')})`);
  if (t!.ownedSequences?.some((s) => s.column === column)) out.push(`${column} owns a sequence`);
  return out;
}

async function tableOf(input: RuleInput): Promise<TableInfo | undefined> {
  const rv = input.ast.relation;
  return input.relation(rv.schemaname, rv.relname);
}

/** `watchOld`: the old column's name disappears in the contract, so its use can be watched for. */
function contractSteps(input: RuleInput, params: Record<string, unknown>, column: string, appWork: string, watchOld = false): StepDraft[] {
  const table = relName(input.ast.relation);
  const stem = `${input.ast.relation.relname}_${column}`;
  const unused = draft(input, {
    id: input.id(`${stem}_unused`),
    kind: 'unused',
    params: { table, column, quiet: '1m' },
    why: `Watches for a minute that no other session's statement still names ${column}, and counts every use since the expand step recorded its snapshot (pg_stat_statements; without it the step says so and only pg_locks is checked).`,
    stage: 'contract',
  });
  return [
    draft(input, {
      id: input.id(`retire_${stem}`),
      kind: 'manual',
      params: {
        instructions: `${appWork} Then make sure no running instance still depends on the old column ${column} of ${table}.`,
        checklist: [`No code path uses ${column} the old way`, 'The previous application version is no longer running'],
      },
      why: `Contract: the old column goes next; an instance of the old version still running would fail.`,
      stage: 'contract',
    }),
    ...(watchOld ? [unused] : []),
    draft(input, {
      id: input.id(`contract_${stem}`),
      kind: 'change_column',
      params: { ...params, stage: 'contract' },
      gate: 'type',
      why: `Contract: drops ${column} and the sync trigger after checking that every row agrees; catalog changes under a brief ACCESS EXCLUSIVE lock. The old column's data is gone for good afterwards, hence the typed confirmation.`,
      stage: 'contract',
    }),
  ];
}

/** A rewriting ALTER COLUMN … TYPE on a column nothing else uses → change_column; else undefined. */
export async function typeChangeByExpandContract(
  input: RuleInput,
  cmd: any,
  type: string,
  using: string | undefined,
): Promise<RuleResult | undefined> {
  const blockers = columnBlockers(await tableOf(input), cmd.name);
  if (!blockers || blockers.length) return undefined;
  const table = relName(input.ast.relation);
  const params = { table, column: cmd.name, type, ...(using ? { using } : {}) };
  const expand = draft(input, {
    id: input.id(`expand_${input.ast.relation.relname}_${cmd.name}`),
    kind: 'change_column',
    params,
    why: `${danger(input.analysis)} Instead: a new ${type} column kept equal to ${cmd.name} by a trigger and filled in batches; no rewrite, and the application keeps running on ${cmd.name} meanwhile. Nothing else uses ${cmd.name} (no index, constraint, view or trigger), so no shadow table is needed.`,
  });
  const appWork = `The contract gives ${table}.${cmd.name} the type ${type} under the same name: check that the application reads and writes it as ${type}.`;
  return {
    steps: [expand, ...contractSteps(input, params, cmd.name, appWork)],
    reason: 'ALTER COLUMN TYPE (rewrite) → change_column expand/contract (nothing else uses the column)',
    lockAfter:
      'ACCESS EXCLUSIVE for milliseconds (add column, contract); SHARE ROW EXCLUSIVE for the trigger; row locks one batch at a time',
  };
}

/** ALTER TABLE … RENAME COLUMN a TO b. */
export async function renameColumnRule(input: RuleInput): Promise<RuleResult | undefined> {
  const r = input.ast;
  const table = relName(r.relation);
  const blockers = columnBlockers(await tableOf(input), r.subname);
  if (blockers?.length) return heldRename(input, blockers);
  const params = { table, column: r.subname, to: r.newname };
  const flag = { backend: 'postgres', key: `read_${r.relation.relname}_${r.newname}`, table: 'pgrunbook.feature_flags' };
  const expand = draft(input, {
    id: input.id(`expand_${r.relation.relname}_${r.newname}`),
    kind: 'change_column',
    params: { ...params, flag },
    why: `A rename breaks every running instance that still uses ${r.subname} the moment it commits. Instead: a new column ${r.newname} kept equal to ${r.subname} by a trigger (a write to either lands in both) and filled in batches, so the old and the new application version run side by side; once it is filled the step sets the flag ${flag.key} (pgrunbook.feature_flags) to 100, which the new version reads ${r.newname} behind, and rollback clears it first.${blockers ? '' : ' Without --db pgrunbook cannot see whether an index, constraint or view uses the column: `pgrunbook plan --db` shows REFUSED if one does.'}`,
  });
  const app = draft(input, {
    id: input.id(`deploy_${r.relation.relname}_${r.newname}`),
    kind: 'manual',
    params: {
      instructions: `Deploy the application version that writes ${table}.${r.newname} and reads it while the flag ${flag.key} in pgrunbook.feature_flags is 100 (the expand step set it after the backfill; rollback clears it), and ${r.subname} otherwise.`,
      checklist: [`The new version reads and writes ${r.newname}`, 'Reads switched to the new column'],
    },
    why: 'Expand: both columns stay equal, so the old and the new version can run at the same time.',
  });
  return {
    steps: [expand, app, ...contractSteps(input, params, r.subname, `Retire the version that uses ${r.subname}.`, true)],
    reason: 'RENAME COLUMN → change_column expand/contract + manual application steps',
    lockAfter: 'ACCESS EXCLUSIVE for milliseconds (add column, contract); row locks one batch at a time',
  };
}

/** A rename change_column cannot take: as written, behind a typed confirmation, with the reason. */
function heldRename(input: RuleInput, blockers: string[]): RuleResult {
  const r = input.ast;
  const step = draft(input, {
    id: input.id(`held_rename_${r.relation.relname}_${r.subname}`),
    kind: 'sql',
    params: input.unit.sql,
    gate: 'type',
    why: `A rename breaks every running instance that still uses ${r.subname} the moment it commits, and expand/contract cannot take this column: ${blockers.join('; ')}. It runs as written (ACCESS EXCLUSIVE for milliseconds, catalog only), behind a typed confirmation: deploy the application version that uses ${r.newname} right after it.`,
  });
  return {
    steps: [step],
    reason: `RENAME COLUMN kept behind a type gate: ${blockers[0]}`,
    lockAfter: 'ACCESS EXCLUSIVE for milliseconds',
    held: true,
  };
}

/** ALTER TABLE a RENAME TO b → rename + a view under the old name; the view goes in the contract. */
export function renameTableRule(input: RuleInput): RuleResult {
  const r = input.ast;
  const oldName = relName(r.relation);
  const newName = r.relation.schemaname ? `${identText(r.relation.schemaname)}.${identText(r.newname)}` : identText(r.newname);
  const expand = draft(input, {
    id: input.id(`rename_${r.relation.relname}`),
    kind: 'sql',
    params: `BEGIN;\n${input.unit.sql};\nCREATE VIEW ${oldName} AS SELECT * FROM ${newName};\nCOMMIT`,
    rollback: `BEGIN;\nDROP VIEW IF EXISTS ${oldName};\nALTER TABLE ${newName} RENAME TO ${identText(r.relation.relname)};\nCOMMIT`,
    why: `A rename breaks every running instance that still queries ${oldName}. Instead: the rename and a view ${oldName} over ${newName} in one transaction (ACCESS EXCLUSIVE for milliseconds). The view is simple, so PostgreSQL lets the old version insert, update and delete through it; columns added to ${newName} later do not appear in it.`,
  });
  const app = draft(input, {
    id: input.id(`deploy_${r.newname}`),
    kind: 'manual',
    params: {
      instructions: `Deploy the application version that uses ${newName}, and retire every instance that still uses ${oldName}.`,
      checklist: [`No code path uses ${oldName}`, 'The previous application version is no longer running'],
    },
    why: `Contract: the view ${oldName} goes next.`,
    stage: 'contract',
  });
  const drop = draft(input, {
    id: input.id(`drop_view_${r.relation.relname}`),
    kind: 'sql',
    params: `DROP VIEW ${oldName}`,
    rollback: `CREATE VIEW ${oldName} AS SELECT * FROM ${newName}`,
    gate: 'confirm',
    why: `Contract: the compatibility view ${oldName} is no longer needed once nothing uses the old name.`,
    stage: 'contract',
  });
  return {
    steps: [expand, app, drop],
    reason: 'RENAME TABLE → rename + updatable view under the old name; the view dropped in the contract',
    lockAfter: 'ACCESS EXCLUSIVE for milliseconds (catalog only)',
  };
}
