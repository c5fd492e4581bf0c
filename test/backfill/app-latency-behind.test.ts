// The app_latency rule's "fell behind" input on a real server under real pgbench loads: the
// application's calls/s before the first batch is the reference; a steady workload whose rate holds
// is never judged behind; a workload whose rate falls is, with the figures, and when slowing down
// does not bring the calls back, the rule moves the reference to the new rate and lets go.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { eventText } from '../../src/render/event-text.js';
import { useTestDatabase } from '../support/pg.js';
import { type PgbenchRun, startPgbench } from '../support/pgbench.js';
import { createStateSchema, runStep } from './helpers.js';

const logsOf = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'step.log' ? [e.message] : []));
const REFERENCE = /^application rate on public\.(\w+) before the first batch: (\d+) calls\/s over [\d.]+ s /;

describe('app_latency: an application falling behind, on a real server', () => {
  const db = useTestDatabase();
  let loads: PgbenchRun[] = [];
  beforeAll(async () => {
    await createStateSchema(db.pool);
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  });
  afterEach(async () => {
    for (const l of loads) await l.stop();
    loads = [];
  });

  /** A table whose batches each also sleep `perRowUs` µs per row they update, so the walk lasts however fast the machine is. */
  async function slowTable(name: string, rows: number, perRowUs: number): Promise<void> {
    await db.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, w int)`);
    await db.query(`INSERT INTO ${name} (id) SELECT generate_series(1, ${rows})`);
    await db.query(`CREATE FUNCTION ${name}_slow() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep((SELECT count(*) FROM moved) * ${perRowUs / 1e6}); RETURN NULL; END $$`);
    await db.query(
      `CREATE TRIGGER ${name}_slow AFTER UPDATE ON ${name} REFERENCING NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION ${name}_slow()`,
    );
    await db.query('SELECT pg_stat_statements_reset()');
  }

  it('a steady 300-tps workload (an UPDATE and a SELECT by random id) that our batches do not block is never judged behind', async () => {
    await slowTable('steady', 300_000, 25);
    // The application works on keys 1-100000 and the backfill fills the others: no call waits on a
    // row a batch holds (on a loaded machine a batch can hold its rows long enough that every client
    // waits, and then the application does fall behind). Only the rate's own noise is left.
    const script = '\\set id random(1, 100000)\nUPDATE steady SET v = v + 1 WHERE id = :id;\nSELECT v FROM steady WHERE id = :id;\n';
    loads.push(startPgbench(db.url, script, { clients: 4, seconds: 300, rate: 300 }));
    await waitForCalls('steady');
    const { ctx, error } = await runStep(db.url, {
      table: 'steady',
      set: 'w = v',
      where: 'id > 100000',
      // Batches over the keys without matches are far faster per key than the rest: that is not a fall in throughput.
      min_throughput: 0,
      throttle: { app_latency: '1.5x' },
    });
    expect(error).toBeUndefined();
    const logs = logsOf(ctx.events);
    // The reference was measured, and the walk ran for several windows after it.
    const refAt = ctx.events.findIndex((e) => e.type === 'step.log' && REFERENCE.test(e.message));
    expect(refAt, JSON.stringify(logs)).toBeGreaterThan(-1);
    const walkDone = ctx.events.findIndex((e) => e.type === 'step.log' && /key walk finished/.test(e.message));
    const seconds = (Date.parse(ctx.events[walkDone]!.at) - Date.parse(ctx.events[refAt]!.at)) / 1000;
    expect(seconds, JSON.stringify(logs)).toBeGreaterThan(3);
    const behind = ctx.events.filter((e) => e.type === 'step.throttle' && /fell behind/.test(e.detail ?? ''));
    expect(behind, JSON.stringify(behind)).toEqual([]);
    expect(logs.filter((m) => /not our batches' doing/.test(m))).toEqual([]);
  }, 240_000);

  it('a workload whose rate falls is judged behind with its figures; when slowing down does not bring it back, the reference moves and the rule lets go', async () => {
    await slowTable('falling', 150_000, 40);
    // SELECTs only: they never wait on our row locks, so only the rate can say anything.
    const script = '\\set id random(1, 150000)\nSELECT v FROM falling WHERE id = :id;\n';
    loads.push(startPgbench(db.url, script, { clients: 4, seconds: 300, rate: 200 }));
    await waitForCalls('falling');
    let switched = false;
    const { ctx, error } = await runStep(
      db.url,
      // Only app_latency may hold the throttle: a WAL or checkpoint rule still active at its release would delay the `reason: null` this waits for.
      {
        table: 'falling',
        set: 'w = v',
        throttle: { app_latency: '1.5x', batch_time_factor: 1000, blocked_sessions: 0, wal_rate: 0, checkpoint_pressure: 0 },
      },
      {
        onEvent: (e) => {
          // Once the reference is taken, the application's own traffic drops to 60 tps.
          if (switched || e.type !== 'step.log' || !REFERENCE.test(e.message)) return;
          switched = true;
          const old = loads.pop()!;
          void old.stop().then(() => loads.push(startPgbench(db.url, script, { clients: 4, seconds: 300, rate: 60 })));
        },
      },
    );
    expect(error).toBeUndefined();
    const logs = logsOf(ctx.events);
    const reference = Number(REFERENCE.exec(logs.find((m) => REFERENCE.test(m)) ?? '')?.[2]);
    expect(reference, JSON.stringify(logs)).toBeGreaterThan(100);
    const fired = ctx.events.find((e) => e.type === 'step.throttle' && e.reason === 'app_latency');
    expect(fired, JSON.stringify(logs)).toBeDefined();
    const m =
      /^application calls on public\.falling fell behind: (\d+) calls\/s over [\d.]+ s while batches ran, against (\d+) calls\/s without them \((\d+)% fewer, ([\d.]+) standard deviations of the counts\)$/.exec(
        (fired as { detail?: string }).detail ?? '',
      );
    expect(m, (fired as { detail?: string }).detail).not.toBeNull();
    expect(Number(m![2])).toBe(reference);
    expect(Number(m![1])).toBeLessThan(0.7 * reference);
    expect(Number(m![4])).toBeGreaterThan(4);
    // The plain output prints the decision with its figures, as for every rule.
    expect(eventText(fired!)?.text).toBe(`fill: throttle: app_latency (${(fired as { detail?: string }).detail})`);
    // Let go because the calls stayed down while the batches slowed, before the walk ended.
    const firedAt = ctx.events.indexOf(fired!);
    const noteAt = ctx.events.findIndex((e) => e.type === 'step.log' && /not our batches' doing/.test(e.message));
    const releasedAt = ctx.events.findIndex((e, i) => i > firedAt && e.type === 'step.throttle' && e.reason === null);
    const walkDone = ctx.events.findIndex((e) => e.type === 'step.log' && /key walk finished/.test(e.message));
    expect(noteAt, JSON.stringify(logs)).toBeGreaterThan(firedAt);
    expect(releasedAt, JSON.stringify(logs)).toBeGreaterThan(firedAt);
    expect(releasedAt).toBeLessThan(walkDone);
    expect((await db.query('SELECT count(*)::int AS n FROM falling WHERE w IS NULL'))[0].n).toBe(0);
  }, 240_000);

  /** pg_stat_statements has seen the application's calls on `table` (pgbench has connected and runs). */
  async function waitForCalls(table: string): Promise<void> {
    for (;;) {
      const r = await db.query(`SELECT coalesce(sum(calls), 0)::int AS n FROM pg_stat_statements WHERE query ~* '\\m${table}\\M'`);
      if (r[0].n >= 100) return;
      await new Promise((res) => setTimeout(res, 200));
    }
  }
});
