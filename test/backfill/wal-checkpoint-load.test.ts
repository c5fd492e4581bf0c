// The wal_rate and checkpoint_pressure rules inside a real backfill on a real server with pgbench
// writing next to it: each fires as a step.throttle event carrying its figure, checkpoint_pressure
// lets go while the backfill still runs, and the plain text says what the operator reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { eventText } from '../../src/render/event-text.js';
import { createStateSchema, runStep } from './helpers.js';
import { majors, useTestDatabase } from '../support/pg.js';
import { startPgbench, type PgbenchRun } from '../support/pgbench.js';
import { withReplicationSlot } from '../support/pg-session.js';

const APP_LOAD = `\\set id random(1, 20000)
UPDATE accounts SET note = md5(random()::text) WHERE id = :id;
`;
// Only the rule under test acts: the others stay out of the way of a loaded machine.
const QUIET = { app_latency: 0, blocked_sessions: 0, batch_time_factor: 1000, probe_interval: '200ms' } as const;

const throttles = (events: RunEvent[]) =>
  events.filter((e) => e.type === 'step.throttle') as Extract<RunEvent, { type: 'step.throttle' }>[];

describe.each(majors())('wal_rate and checkpoint_pressure in a backfill, PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);
  let load: PgbenchRun | undefined;
  beforeAll(async () => {
    await createStateSchema(db.pool);
    await db.query('CREATE TABLE accounts (id int PRIMARY KEY, note text, copy text)');
    await db.query('INSERT INTO accounts (id, note) SELECT g, md5(g::text) FROM generate_series(1, 20000) g');
  });
  afterAll(async () => {
    await load?.stop();
  });

  it('fires wal_rate with the rate that crossed the limit, and the backfill still finishes', async () => {
    load = startPgbench(db.url, APP_LOAD, { clients: 2, seconds: 60 });
    const { ctx, error } = await runStep(db.url, {
      table: 'accounts',
      set: 'copy = repeat(note, 8)',
      // Long enough for several WAL readings (probe_interval 200ms) however fast the machine is: 10
      // batches of 500 once finished in under 274 ms, before the rule had a second reading.
      where: 'id <= 10000',
      batch_size: 250,
      pause: '10ms',
      min_throughput: 0,
      throttle: { ...QUIET, wal_rate: '512kB/s', checkpoint_pressure: false },
    });
    await load.stop();
    expect(error).toBeUndefined();
    const fired = throttles(ctx.events).find((e) => e.reason === 'wal_rate');
    expect(fired).toBeDefined();
    // Beside other test files the first window can pass 21x the limit: the duty then sits at its floor.
    const m =
      /^WAL written at ([\d.]+) MB\/s over the last [\d.]+ s, over the ([\d.]+) MB\/s limit: batches run (\d+)% of the time(, the least this rule allows)?$/.exec(
        fired!.detail!,
      );
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(Number(m![2]));
    expect(Number(m![3])).toBeLessThan(100);
    expect(eventText(fired!)?.text).toContain(`throttle: wal_rate (${fired!.detail})`);
    expect((await db.query('SELECT count(*)::int AS n FROM accounts WHERE id <= 10000 AND copy IS NULL'))[0].n).toBe(0);
  }, 180_000);

  it('fires checkpoint_pressure on a requested checkpoint and lets go while the backfill runs on', async () => {
    load = startPgbench(db.url, APP_LOAD, { clients: 2, seconds: 120 });
    let checkpoint: Promise<unknown> | undefined;
    let releasedAtBatches: number | undefined;
    let lastBatches = 0;
    const { ctx, error } = await runStep(
      db.url,
      {
        table: 'accounts',
        set: 'copy = note',
        batch_size: 100,
        pause: '50ms',
        min_throughput: 0,
        throttle: { ...QUIET, wal_rate: 0, checkpoint_pressure: '1s' },
      },
      {
        onEvent: (e) => {
          if (e.type === 'step.progress' && e.progress.kind === 'backfill') {
            lastBatches = e.progress.batches;
            if (lastBatches >= 3) checkpoint ??= db.query('CHECKPOINT');
          }
          if (e.type === 'step.throttle' && e.reason === null && releasedAtBatches === undefined) releasedAtBatches = lastBatches;
        },
      },
    );
    await load.stop();
    await checkpoint;
    expect(error).toBeUndefined();
    const t = throttles(ctx.events);
    const fired = t.find((e) => e.reason === 'checkpoint_pressure');
    expect(fired).toBeDefined();
    const m =
      /^(\d+) checkpoint\(s\) requested \((\d+) timed\) in the last [\d.]+ s, (\d+) buffers written: WAL fills max_wal_size \(.+\) before checkpoint_timeout$/.exec(
        fired!.detail!,
      );
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    // Released before the last batch: the step went on at full duty afterwards.
    expect(t.indexOf(fired!)).toBeLessThan(t.findIndex((e) => e.reason === null));
    const finalBatches = ctx.events.filter((e) => e.type === 'step.progress').at(-1) as any;
    expect(releasedAtBatches).toBeDefined();
    expect(releasedAtBatches!).toBeLessThan(finalBatches.progress.batches);
  }, 180_000);

  it("leaves wal_rate's default off while nothing takes the WAL, says so once, and applies it beside a replication slot", async () => {
    await db.query('UPDATE accounts SET copy = NULL');
    const notApplied = /^wal_rate's default limit of 50 MB\/s is not applied: no standby streams from this server/;
    const run = async () => {
      const { ctx, error } = await runStep(db.url, { table: 'accounts', set: 'copy = note', where: 'copy IS NULL', min_throughput: 0 });
      expect(error).toBeUndefined();
      return ctx.events.flatMap((e) => (e.type === 'step.log' ? [e.message] : []));
    };
    const alone = await run();
    expect(
      alone.filter((m) => notApplied.test(m)),
      JSON.stringify(alone),
    ).toHaveLength(1);
    await db.query('UPDATE accounts SET copy = NULL');
    const beside = await withReplicationSlot(db.url, run);
    expect(
      beside.some((m) => /wal_rate/.test(m)),
      JSON.stringify(beside),
    ).toBe(false);
  }, 60_000);
});
