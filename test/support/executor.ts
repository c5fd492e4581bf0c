// A SqlExecutor on a real pool whose events land in an array, with gates that approve nothing.
import type pg from 'pg';
import type { EventBody } from '../../src/engine/events.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { SqlExecutor } from '../../src/pg/executor.js';
import { systemClock } from '../../src/util/clock.js';

export function recordingExecutor(pool: pg.Pool, events: EventBody[]): SqlExecutor {
  return new SqlExecutor({
    pool,
    clock: systemClock,
    emit: (e) => void events.push(e),
    gates: new PolicyGates({ yes: false, allowIrreversible: false, user: 't' }),
  });
}
