// A lock wait that ends in the grant is reported once, as an event the step's log words: a DDL step
// waits behind a real open transaction that commits after ~1.5 s.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { EventBody, RunEvent } from '../../src/engine/events.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { SqlExecutor } from '../../src/pg/executor.js';
import { eventText } from '../../src/render/event-text.js';
import { systemClock } from '../../src/util/clock.js';
import { edgeMajors, testPool, useTestDatabase } from '../support/pg.js';

for (const major of edgeMajors()) {
  describe(`a lock wait that ended in the grant, on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('is logged in the step once, with the wait, the lock in words, the relation and the blocker', async () => {
      await db.query('create table waited (id int primary key)');
      const pool = testPool(db.url, 4, 'pgrunbook:test-wait');
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query('select * from waited');
        const holderPid = (holder as any).processID as number;
        const events: EventBody[] = [];
        const ex = new SqlExecutor({
          pool,
          clock: systemClock,
          emit: (e) => void events.push(e),
          gates: new PolicyGates({ yes: false, allowIrreversible: false, user: 't' }),
        });
        const release = setTimeout(() => void holder.query('commit'), 1_500);
        const t0 = Date.now();
        await ex.run('alter table waited add column note text', {
          stepId: 'add_note',
          lockTimeoutMs: 30_000,
          statementTimeoutMs: 0,
          retries: 0,
        });
        const took = Date.now() - t0;
        clearTimeout(release);

        const waits = events.filter((e) => e.type === 'step.lock_wait');
        expect(waits).toHaveLength(1);
        const w = waits[0] as Extract<EventBody, { type: 'step.lock_wait' }>;
        expect(w).toMatchObject({
          stepId: 'add_note',
          mode: 'AccessExclusiveLock',
          lockType: 'relation',
          relation: 'public.waited',
          blockers: [holderPid],
        });
        // The wait began with the statement and ended before it did (generous bounds: the machine is loaded).
        expect(w.waitedMs).toBeGreaterThan(1_000);
        expect(w.waitedMs).toBeLessThanOrEqual(took + 50);
        const line = eventText({ ...w, seq: 1, at: new Date().toISOString(), runId: 'r' } as RunEvent);
        expect(line).toMatchObject({ stepId: 'add_note', level: 'warn' });
        expect(line?.text).toMatch(
          new RegExp(`^add_note: waited \\d+(\\.\\d+)?s for ACCESS EXCLUSIVE on public\\.waited behind pid ${holderPid}, then got it$`),
        );
      } finally {
        await holder.end();
        await pool.end();
      }
    });

    it('is not reported for a statement that did not wait', async () => {
      await db.query('create table unwaited (id int primary key)');
      const pool = testPool(db.url, 2);
      const events: EventBody[] = [];
      const ex = new SqlExecutor({
        pool,
        clock: systemClock,
        emit: (e) => void events.push(e),
        gates: new PolicyGates({ yes: false, allowIrreversible: false, user: 't' }),
      });
      await ex.run('alter table unwaited add column note text; select pg_sleep(0.4)', {
        stepId: 's',
        lockTimeoutMs: 5_000,
        statementTimeoutMs: 0,
        retries: 0,
      });
      await pool.end();
      expect(events.filter((e) => e.type === 'step.lock_wait')).toEqual([]);
    });
  });
}
