// host_cpu inside a real backfill, from a real prometheus-node-exporter's figures while a real
// pgbench load keeps the CPUs busy: the rule cuts the duty in proportion to how far over the limit
// the host is, as a step.throttle event carrying the figure (the plain text prints it); when the
// exporter stops answering, the rule lets go with a note and the backfill finishes. The limit is set
// low (20%) so a busy machine crosses it whatever else runs on it; a release because the host
// quietened cannot be waited for on a machine other sessions keep busy, so the fake-clock tests in
// host-rules.test.ts cover that one.
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { eventText } from '../../src/render/event-text.js';
import { NodeExporterSignals } from '../../src/host/node-exporter.js';
import { systemClock } from '../../src/util/clock.js';
import { createStateSchema, runStep } from './helpers.js';
import { useTestDatabase } from '../support/pg.js';
import { useNodeExporter } from '../support/host-exporters.js';
import { startPgbench } from '../support/pgbench.js';

const QUIET = {
  app_latency: 0,
  blocked_sessions: 0,
  batch_time_factor: 1000,
  wal_rate: 0,
  checkpoint_pressure: false,
  probe_interval: '200ms',
} as const;

const throttles = (events: RunEvent[]) =>
  events.filter((e) => e.type === 'step.throttle') as Extract<RunEvent, { type: 'step.throttle' }>[];

describe('host_cpu in a real backfill, from a real node_exporter', () => {
  const { here, exporter } = useNodeExporter('host_cpu load test');
  const db = useTestDatabase();
  beforeAll(async () => {
    await createStateSchema(db.pool);
    await db.query('CREATE TABLE items (id int PRIMARY KEY, v int)');
    await db.query('INSERT INTO items SELECT g, 0 FROM generate_series(1, 3000) g');
  }, 120_000);

  it.runIf(here)(
    'under a real pgbench load: cuts the duty by how far over the limit the host is, with the figure, and lets go when the exporter stops',
    async () => {
      // Each batch sleeps 20 ms in a statement trigger, so the walk lasts long enough to see both
      // decisions whatever the machine's speed; pgbench, unthrottled, keeps the CPUs busy.
      await db.query('CREATE TABLE slow_items (id int PRIMARY KEY, v int)');
      await db.query('INSERT INTO slow_items SELECT g, 0 FROM generate_series(1, 20000) g');
      await db.query(`CREATE FUNCTION sleep_a_little() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$`);
      await db.query('CREATE TRIGGER slow AFTER UPDATE ON slow_items FOR EACH STATEMENT EXECUTE FUNCTION sleep_a_little()');
      await db.query('CREATE TABLE app (id int PRIMARY KEY, n int)');
      await db.query('INSERT INTO app SELECT g, 0 FROM generate_series(1, 1000) g');
      const load = startPgbench(
        db.url,
        '\\set id random(1, 1000)\nUPDATE app SET n = n + 1 WHERE id = :id;\nSELECT n FROM app WHERE id = :id;\n',
        {
          clients: 4,
          seconds: 300,
        },
      );
      let stopping: Promise<void> | undefined;
      try {
        const { ctx, error } = await runStep(
          db.url,
          {
            table: 'slow_items',
            set: 'v = 1',
            batch_size: 100,
            min_throughput: 0,
            throttle: { ...QUIET, host_cpu: '20%', io_wait: 0 },
          },
          {
            before: (c) => (c.host = new NodeExporterSignals(exporter().url, systemClock)),
            // The first decision made, the endpoint goes away: the rule must let go rather than hold.
            onEvent: (e) => {
              if (e.type === 'step.throttle' && e.reason === 'host_cpu') stopping ??= load.stop().then(() => exporter().stop());
            },
          },
        );
        expect(error).toBeUndefined();
        const fired = throttles(ctx.events).find((e) => e.reason === 'host_cpu');
        expect(fired, JSON.stringify(ctx.events.filter((e) => e.type === 'step.log'))).toBeDefined();
        const m =
          /^CPU busy (\d+)% on the database host over the last \d+ s, over the 20% limit \(node_exporter at (\S+)\): batches run (\d+)% of the time$/.exec(
            fired!.detail!,
          );
        expect(m, fired!.detail).not.toBeNull();
        const busy = Number(m![1]);
        expect(busy).toBeGreaterThan(20);
        expect(m![2]).toBe(exporter().url);
        // The duty is the idle share over the 80 points of headroom (at least a quarter), from the
        // figure shown (rounded to a whole percent, hence the tolerance).
        const duty = Number(m![3]);
        expect(Math.abs(duty - 100 * Math.min(1, Math.max(0.25, (100 - busy) / 80)))).toBeLessThanOrEqual(1);
        expect(eventText(fired!)?.text).toBe(`fill: throttle: host_cpu (${fired!.detail})`);
        // Let go: the note names the endpoint, the release event follows it, and batches ran after it
        // (not the end-of-step release).
        const noteAt = ctx.events.findIndex(
          (e) =>
            e.type === 'step.log' &&
            /^host figures unavailable from node_exporter at .*host_cpu and io_wait do not hold batches meanwhile$/.test(e.message),
        );
        expect(noteAt, JSON.stringify(ctx.events.filter((e) => e.type === 'step.log'))).toBeGreaterThan(-1);
        const releaseAt = ctx.events.findIndex((e, i) => i > noteAt && e.type === 'step.throttle' && e.reason === null);
        expect(releaseAt).toBeGreaterThan(noteAt);
        const batchesAt = (from: number, to: number) =>
          ctx.events
            .slice(from, to)
            .flatMap((e) => (e.type === 'step.progress' && e.progress.kind === 'backfill' ? [e.progress.batches] : []));
        const before = Math.max(0, ...batchesAt(0, releaseAt));
        expect(Math.max(...batchesAt(releaseAt, ctx.events.length))).toBeGreaterThan(before);
        expect((await db.query('SELECT count(*)::int AS n FROM slow_items WHERE v = 0'))[0].n).toBe(0);
      } finally {
        await stopping;
        await load.stop();
      }
    },
    240_000,
  );

  it('warns when the runbook sets host_cpu but the run has no host endpoint', async () => {
    await db.query('UPDATE items SET v = 0');
    const { ctx, error } = await runStep(db.url, {
      table: 'items',
      set: 'v = 2',
      batch_size: 1000,
      throttle: { ...QUIET, host_cpu: '85%' },
    });
    expect(error).toBeUndefined();
    const warns = ctx.events.filter((e) => e.type === 'step.log' && e.level === 'warn').map((e) => (e as { message: string }).message);
    expect(warns).toContain(
      'throttle host_cpu / io_wait is set but this run has no host endpoint: pass --node-exporter URL or --prometheus URL to watch the host',
    );
  }, 120_000);
});
