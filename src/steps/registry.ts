// Every step kind, by the key that names it in a runbook. One kind per file in this folder.
import type { StepKind } from './step-kind.js';
import { addColumn } from './add-column.js';
import { notNull } from './not-null.js';
import { createIndex } from './create-index.js';
import { addForeignKey } from './add-foreign-key.js';
import { addCheck } from './add-check.js';
import { flag } from './flag.js';
import { swapTable } from './swap-table.js';
import { backfill } from './backfill.js';
import { sqlKind } from './sql.js';
import { shellKind } from './shell.js';
import { checkKind } from './check.js';
import { waitKind } from './wait.js';
import { manualKind } from './manual.js';
import { rehearseStep } from './rehearse.js';
import { watchKind } from './watch.js';

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
  flag,
  swapTable,
  backfill,
  rehearseStep,
  watchKind,
];

export const STEP_KINDS: ReadonlyMap<string, StepKind> = new Map(kinds.map((k) => [k.kind, k]));
