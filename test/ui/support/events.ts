// A scripted event stream for UI tests: a demo-like runbook through the same EventBus the runner uses.
import { EventBus, type BackfillProgress, type EventBody, type RunEvent } from '../../../src/engine/events.js';
import type { Target } from '../../../src/pg/connection.js';
import { createUiStore, type UiStore } from '../../../src/ui/store.js';

export function scriptedBus(start = Date.parse('2025-01-01T12:00:00Z')): {
  bus: EventBus;
  events: RunEvent[];
  emit(b: EventBody): RunEvent;
  tick(ms: number): void;
} {
  let now = start;
  const bus = new EventBus('run-test', () => now);
  const events: RunEvent[] = [];
  bus.on((e) => events.push(e));
  return { bus, events, emit: (b) => bus.emit(b), tick: (ms) => void (now += ms) };
}

export const TARGET = {
  host: 'db.internal',
  port: 5432,
  database: 'shop',
  user: 'deployer',
  serverVersion: '17.6',
  serverVersionNum: 170006,
};

export const PLAN: EventBody = {
  type: 'run.plan',
  steps: [
    {
      phase: 'deploy',
      id: 'add_amount_cents',
      kind: 'add_column',
      title: 'Add orders.amount_cents (nullable)',
      gate: 'confirm',
      reversible: true,
      detail: {
        why: 'A nullable column without a volatile default is a catalog-only change: no rewrite, a brief ACCESS EXCLUSIVE lock.',
        statements: ['ALTER TABLE "orders" ADD COLUMN "amount_cents" bigint'],
        locks: [{ relation: 'orders', mode: 'AccessExclusiveLock' }],
      },
    },
    {
      phase: 'deploy',
      id: 'backfill_amount',
      kind: 'backfill',
      title: 'Backfill amount_cents in batches',
      gate: 'none',
      reversible: true,
      detail: {
        why: 'Short keyset batches keep each row lock brief and let autovacuum keep up.',
        statements: ['UPDATE "orders" SET amount_cents = (amount * 100)::bigint WHERE id > $1 AND id <= $2'],
        locks: [{ relation: 'orders', mode: 'RowExclusiveLock' }],
      },
    },
    { phase: 'deploy', id: 'amount_not_null', kind: 'not_null', title: 'Make amount_cents NOT NULL', gate: 'confirm', reversible: true },
    {
      phase: 'deploy',
      id: 'index_amount',
      kind: 'create_index',
      title: 'Index amount_cents concurrently',
      gate: 'confirm',
      reversible: true,
    },
  ],
};

/** What run.started names, where a test shows other names than the Demo runbook on TARGET. */
export interface RunNames {
  runbook?: string;
  file?: string;
  target?: Target;
}

/** A run's start as the runner emits it: run.started (by ann), the plan (PLAN unless given), phase deploy. */
export function emitRunStart(emit: (b: EventBody) => unknown, names: RunNames = {}, plan: EventBody = PLAN): void {
  emit({
    type: 'run.started',
    runbook: names.runbook ?? 'Demo',
    file: names.file ?? 'demo.yaml',
    target: names.target ?? TARGET,
    phases: ['deploy'],
    resumed: false,
    user: 'ann',
    host: 'h',
    pid: 1,
  });
  emit(plan);
  emit({ type: 'phase.started', phase: 'deploy' });
}

/** A store fed by a scripted bus, the run started (emitRunStart). */
export function startedRun(names: RunNames = {}, plan: EventBody = PLAN): { store: UiStore; b: ReturnType<typeof scriptedBus> } {
  const store = createUiStore();
  const b = scriptedBus();
  b.bus.on((e) => store.getState().dispatch(e));
  emitRunStart(b.emit, names, plan);
  return { store, b };
}

/** How PLAN's backfill_amount starts: `addColumnDone` runs add_amount_cents (12 ms) before it. */
export interface BackfillStart {
  addColumnDone?: boolean;
  title?: string;
}

/** After the run's start: PLAN's backfill_amount started, as step.started says it with `title`. */
export function emitBackfillStarted(
  emit: (b: EventBody) => unknown,
  { addColumnDone = false, title = 'Backfill' }: BackfillStart = {},
): void {
  if (addColumnDone) {
    emit({ type: 'step.started', phase: 'deploy', stepId: 'add_amount_cents', kind: 'add_column', title: 't', attempt: 1 });
    emit({ type: 'step.completed', phase: 'deploy', stepId: 'add_amount_cents', durationMs: 12 });
  }
  emit({ type: 'step.started', phase: 'deploy', stepId: 'backfill_amount', kind: 'backfill', title, attempt: 1 });
}

/** backfill_amount's step.progress: 2,000 of 10,000 rows, 2 batches of 5,000, 1,000 rows/s, ETA 8 s, unless `progress` says otherwise. */
export function backfillProgress(progress: Partial<BackfillProgress> = {}): EventBody {
  return {
    type: 'step.progress',
    stepId: 'backfill_amount',
    progress: {
      kind: 'backfill',
      rowsDone: 2000,
      rowsTotal: 10000,
      batches: 2,
      batchSize: 5000,
      pauseMs: 0,
      rate: 1000,
      etaSeconds: 8,
      lastBatchMs: 90,
      pass: 'main',
      paused: false,
      throttle: null,
      ...progress,
    },
  };
}

/** A store fed by a scripted bus, the run started (as `names` say) and its backfill_amount step running with `progress`. */
export function runningBackfill(
  progress: Partial<BackfillProgress> = {},
  { names, ...start }: BackfillStart & { names?: RunNames } = {},
): { store: UiStore; b: ReturnType<typeof scriptedBus> } {
  const run = startedRun(names);
  emitBackfillStarted(run.b.emit, start);
  run.b.emit(backfillProgress(progress));
  return run;
}
