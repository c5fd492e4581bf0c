// `init` without its I/O: source → chosen migrations → rewritten steps → runbook text, checked by
// the runbook loader before anyone sees it.
import { basename } from 'node:path';
import type { Catalog } from '../analyze/analysis-catalog.js';
import { InputError, RunbookError } from '../util/runbook-error.js';
import { loadRunbookText } from '../runbook/load.js';
import type { KindTable } from '../runbook/kind-table.js';
import { formatProblem } from '../runbook/model.js';
import type { Queryable } from '../pg/queryable.js';
import { detectFormat, readSource, wrapsInTransaction } from './detect.js';
import { pendingMigrations } from './history.js';
import type { Migration, MigrationSet, RewriteRow, SourceFormat } from './init-types.js';
import { recordStep } from './record.js';
import { rewriteMigrations } from './rewrite.js';
import { IdAllocator } from './step-ids.js';
import { writeRunbook } from './runbook-writer.js';
import { summarize } from './explain.js';

export interface BuildOptions {
  from: string;
  format?: SourceFormat;
  only?: string[];
  /** Live database: catalog for the verdicts, history table for the pending migrations. */
  db?: { pool: Queryable; catalog: Catalog; versionNum: number };
  /** Server version to analyze for without --db. */
  versionNum: number;
  outFile?: string;
  stdin?: () => Promise<string>;
  /** To validate the generated runbook (the composition root's STEP_KINDS). */
  kinds: KindTable;
}

export interface BuildResult {
  set: MigrationSet;
  chosen: Migration[];
  /** Migrations before the chosen ones (already applied): the schema the runbook starts from. */
  before: Migration[];
  yaml: string;
  rows: RewriteRow[];
  notes: string[];
  summary: string;
  /** Id of the step that tells the migration tool, if there is one. */
  recordStepId?: string;
}

export async function buildRunbook(o: BuildOptions): Promise<BuildResult> {
  const format = o.format ?? (await detectFormat(o.from));
  const set = await readSource(o.from, format, o.stdin ?? (async () => ''));
  const notes: string[] = (set.skipped ?? []).map((f) => `${f}: repeatable Flyway migrations are not converted; run them with Flyway`);
  let chosen = set.migrations;
  if (o.db) {
    const p = await pendingMigrations(o.db.pool, set);
    chosen = p.pending;
    notes.push(p.note);
  }
  if (o.only?.length) {
    const unknown = o.only.filter((id) => !set.migrations.some((m) => m.id === id || m.name === id));
    if (unknown.length)
      throw new InputError(
        `--only ${unknown.join(', ')}: no such migration in ${o.from}`,
        `known: ${set.migrations.map((m) => m.id).join(', ')}`,
      );
    chosen = chosen.filter((m) => o.only!.includes(m.id) || o.only!.includes(m.name));
  }
  if (chosen.length === 0)
    throw new InputError(
      `${o.from}: no ${o.db ? 'pending ' : ''}migrations to convert`,
      o.db ? 'the history table lists every migration as applied' : 'check --only',
    );
  const firstIndex = set.migrations.indexOf(chosen[0]!);
  const ids = new IdAllocator();
  const r = await rewriteMigrations(
    chosen,
    { catalog: o.db?.catalog, serverVersionNum: o.db?.versionNum ?? o.versionNum, toolWrapsInTransaction: wrapsInTransaction(format) },
    ids,
  );
  const rec = recordStep(set, chosen, (s) => ids.take(s));
  const steps = rec.step ? [...r.steps, rec.step] : r.steps;
  const summary = summarize(r.rows);
  const name = chosen.length === 1 ? chosen[0]!.name : `${chosen[0]!.name} … ${chosen[chosen.length - 1]!.name}`;
  const yaml = writeRunbook({
    name: `${set.format === 'sql' ? basename(o.from) : set.format}: ${name}`,
    description: `Converted by pgrunbook init from ${o.from === '-' ? 'standard input' : o.from} (${set.format}): ${chosen.map((m) => m.id).join(', ')}.`,
    steps,
    rollback: r.rollback,
    vars: rec.vars,
    outFile: o.outFile,
    summary,
  });
  const loaded = await loadRunbookText(yaml, o.outFile ?? 'runbook.yaml', { kinds: o.kinds });
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length) {
    throw new RunbookError(`the generated runbook does not validate (a pgrunbook bug):\n${errors.map(formatProblem).join('\n')}`, {
      hint: 'report it with the migration; nothing was written',
      exitCode: 1,
    });
  }
  return {
    set,
    chosen,
    before: set.migrations.slice(0, Math.max(0, firstIndex)),
    yaml,
    rows: r.rows,
    notes: [...notes, ...r.notes],
    summary,
    recordStepId: rec.step?.id,
  };
}
