// The composition root: the one place that knows every step kind and every concrete adapter, and
// wires them into the engine (DESIGN §2, docs/architecture.md). Commands, the demo, tests and
// benchmarks take the step kinds, the runner factory and the bound rehearsal from here.
import type { RunnerFactory } from '../engine/runner.js';
import { Runner } from '../engine/runner.js';
import type { StepKind, StepKinds } from '../engine/step-kind.js';
import { openFlagBackend } from '../flags/open-flag-backend.js';
import { blockersNow } from '../monitor/blockers-now.js';
import { connectionFactory } from '../pg/connection.js';
import type { RehearseRequest } from '../rehearsal/run-rehearsal.js';
import type { RehearsalResult } from '../rehearsal/rehearsal-types.js';
import { addCheck } from '../steps/add-check.js';
import { addColumn } from '../steps/add-column.js';
import { addForeignKey } from '../steps/add-foreign-key.js';
import { backfill } from '../steps/backfill.js';
import { batchedDelete } from '../steps/batched-delete.js';
import { changeColumnKind } from '../steps/change-column.js';
import { checkKind } from '../steps/check.js';
import { unusedKind } from '../steps/unused.js';
import { createIndex } from '../steps/create-index.js';
import { flagKind } from '../steps/flag.js';
import { manualKind } from '../steps/manual.js';
import { notNull } from '../steps/not-null.js';
import { rehearseKind } from '../steps/rehearse.js';
import { shellKind } from '../steps/shell.js';
import { sqlKind } from '../steps/sql.js';
import { swapTable } from '../steps/swap-table.js';
import { waitKind } from '../steps/wait.js';
import { watchKind } from '../steps/watch.js';

/** A runner over STEP_KINDS with the PostgreSQL connection factory and the pg_locks probe. */
export const newRunner: RunnerFactory = (setup) =>
  new Runner({ ...setup, kinds: STEP_KINDS, connect: connectionFactory(setup.connection), blockersNow });

/**
 * The rehearsal with STEP_KINDS and newRunner bound (loaded on first use: it is large). Its
 * projection is then stored in the source's pgrunbook schema for plan and the deploy gate.
 */
export async function rehearse(request: RehearseRequest): Promise<RehearsalResult> {
  const { rehearse: run } = await import('../rehearsal/run-rehearsal.js');
  const { recordProjection } = await import('../rehearsal/record-projection.js');
  const result = await run({ ...request, kinds: STEP_KINDS, newRunner });
  request.log?.(await recordProjection(request.sourceUrl, request.runbook, result, { drill: request.drill }));
  return result;
}

async function writeReport(path: string, result: RehearsalResult): Promise<void> {
  const { writeRehearsalReport } = await import('../report/rehearsal-report-files.js');
  await writeRehearsalReport(path, result);
}

const kinds: StepKind[] = [
  sqlKind,
  shellKind,
  checkKind,
  waitKind,
  manualKind,
  addColumn,
  notNull,
  createIndex,
  addForeignKey,
  addCheck,
  flagKind(openFlagBackend),
  swapTable,
  changeColumnKind(openFlagBackend),
  unusedKind,
  backfill,
  batchedDelete,
  rehearseKind({ rehearse, writeReport }),
  watchKind,
];

/** Every step kind, by the key that names it in a runbook. One kind per file in src/steps/. */
export const STEP_KINDS: StepKinds = new Map(kinds.map((k) => [k.kind, k]));
