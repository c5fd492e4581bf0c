// A scripted event stream for UI tests: a demo-like runbook through the same EventBus the runner uses.
import { EventBus, type EventBody, type RunEvent } from '../../../src/engine/events.js';

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
