// Replication-lag throttling against a real primary and a real streaming standby (their own pair of
// servers per major), with the real probes: the backfill holds while the standby does not replay
// (replay paused) or is not connected at all, and goes on, every row once, when it has caught up.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { edgeMajors } from '../support/pg.js';
import type { TestStepContext } from '../support/step-context.js';
import type { RunEvent } from '../../src/engine/events.js';
import { readCursor } from '../../src/backfill/cursor-store.js';
import { ThrottleProbes } from '../../src/backfill/backfill-probes.js';
import { readWalConsumers } from '../../src/pg/wal-consumers.js';
import { startReplicated, type Replicated } from '../monitor/support/standby.js';
import { waitFor } from '../monitor/support/scenarios.js';
import { counterHistogram, createStateSchema, progressEvents, runStep } from './helpers.js';

const ROWS = 20_000;
// The backfill writes about 8 MB of WAL in 100 batches (200 rows, 20 ms apart), so a 1 MB limit
// holds it early. The holds below last longer than the 1 s time limit: a standby that has caught
// up still shows that old replay_lag, which must not keep the hold going. min_throughput off: only
// replication lag should throttle here, the tests check the throttle event sequence.
const params = (table: string) => ({
  table,
  set: 'counter = counter + 1',
  batch_size: 200,
  pause: '20ms',
  min_throughput: 0,
  throttle: { replication_lag_bytes: '1MB', replication_lag: '1s', probe_interval: '100ms' },
});
const LIMIT_BYTES = 1024 ** 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isLagThrottle = (e: RunEvent) => e.type === 'step.throttle' && e.reason === 'replication_lag';

describe.each(edgeMajors())('backfill throttle with a real standby, PostgreSQL %i', (major) => {
  let rep: Replicated;
  let primary: pg.Pool;
  let standby: pg.Client;
  let running: TestStepContext | undefined;

  beforeAll(async () => {
    rep = await startReplicated(major);
    primary = new pg.Pool({ connectionString: rep.primary.url, max: 3 });
    primary.on('error', () => {});
    standby = new pg.Client(rep.standbyUrl);
    await standby.connect();
    await createStateSchema(primary);
  });
  afterEach(async () => {
    // A failed test must not leave a backfill holding, or the standby paused for the next test.
    running?.abort.abort();
    running = undefined;
    await standby.query('select pg_wal_replay_resume()').catch(() => {});
  });
  afterAll(async () => {
    await standby?.end();
    await primary?.end();
    await rep?.stop();
  });

  async function seed(table: string): Promise<void> {
    await primary.query(`create table ${table} (id bigint primary key, counter int not null default 0, pad text not null)`);
    await primary.query(`insert into ${table} select g, 0, repeat('x', 200) from generate_series(1, ${ROWS}) g`);
    await primary.query(`analyze ${table}`);
  }

  const onPrimary = () => ({ query: async (sql: string) => (await primary.query(sql)).rows });

  /** Waits until the standby has replayed everything the primary has logged so far. */
  async function standbyCaughtUp(): Promise<void> {
    // The insert position: the backfill commits asynchronously, so its last commits may not be written yet.
    const target = (await primary.query<{ l: string }>('select pg_current_wal_insert_lsn()::text as l')).rows[0]!.l;
    await waitFor(
      async () => (await standby.query('select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [target])).rows[0].ok,
      'the standby to replay',
    );
  }

  async function pauseReplay(): Promise<void> {
    await standby.query('select pg_wal_replay_pause()');
    await waitFor(
      async () => (await standby.query(`select pg_get_wal_replay_pause_state() = 'paused' as ok`)).rows[0].ok,
      'replay to pause',
    );
  }

  /** Replay lag of standby1 in bytes as the primary sees it (null: not connected). */
  async function lagBytes(): Promise<number | null> {
    const r = await primary.query(
      `select pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 as b from pg_stat_replication where application_name = 'standby1'`,
    );
    return r.rows[0]?.b ?? null;
  }

  /** Starts the backfill; `events` fills as they come, `next` waits for the first event matching. */
  function startBackfill(table: string, runId: string) {
    const events: RunEvent[] = [];
    const waiters: { match: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }[] = [];
    const run = runStep(rep.primary.url, params(table), {
      runId,
      before: (ctx) => (running = ctx),
      onEvent: (e) => {
        events.push(e);
        for (const w of waiters.filter((x) => x.match(e))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      },
    });
    const finished = run.then(() => undefined);
    const next = (match: (e: RunEvent) => boolean, what: string): Promise<RunEvent> => {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<RunEvent>((resolve) => waiters.push({ match, resolve })),
        finished.then(() => Promise.reject(new Error(`the backfill finished before ${what}`))),
        sleep(15_000).then(() => Promise.reject(new Error(`timed out waiting for ${what}`))),
      ]);
    };
    return { events, run, next };
  }

  it("counts the streaming standby and its slot as the WAL's consumers, so wal_rate's default applies", async () => {
    expect(await readWalConsumers(primary)).toEqual({ standbys: 1, slots: 1, archive: false });
  });

  it('holds every batch while the standby does not replay, and clears as soon as it has caught up', async () => {
    await seed('paused_replay');
    await standbyCaughtUp();
    await pauseReplay();
    const runId = `lag-${major}-paused`;
    const { events, run, next } = startBackfill('paused_replay', runId);

    const started = await next(isLagThrottle, 'a replication_lag throttle');
    expect(started).toMatchObject({
      reason: 'replication_lag',
      detail: expect.stringMatching(/^standby1 \d+\.\d MB \/ \d+\.\d s behind \(limits 1\.0 MB \/ 1\.0 s\)$/),
    });
    const held = (await readCursor(primary, runId, 'fill'))!;
    // Held early: the limit is an eighth of the backfill's WAL.
    expect(held.rowsDone).toBeGreaterThan(0);
    expect(held.rowsDone).toBeLessThan(ROWS / 2);
    // While replay stays paused, nothing commits: 15 probe rounds later the cursor has not moved.
    await sleep(1500);
    const stillHeld = (await readCursor(primary, runId, 'fill'))!;
    expect({ rows: stillHeld.rowsDone, batches: stillHeld.batches, cursor: stillHeld.cursor }).toEqual({
      rows: held.rowsDone,
      batches: held.batches,
      cursor: held.cursor,
    });
    expect(await lagBytes()).toBeGreaterThan(0.8 * LIMIT_BYTES);
    expect(events.filter((e) => e.type === 'step.throttle' && e.seq > started.seq)).toEqual([]);

    const resumedAt = Date.now();
    await standby.query('select pg_wal_replay_resume()');
    const cleared = await next((e) => e.type === 'step.throttle' && e.seq > started.seq, 'the throttle to clear');
    const clearedAt = Date.parse(cleared.at);
    expect(cleared.type === 'step.throttle' && cleared.reason).not.toBe('replication_lag');
    // The standby reports its replay position as soon as it has caught up; its replay_lag figure
    // stays stale until its next status message (10 s) and must not prolong the hold.
    expect(clearedAt - resumedAt).toBeLessThan(3000);
    expect(clearedAt).toBeGreaterThanOrEqual(resumedAt - 5); // event times are whole milliseconds

    const { ctx, result, error } = await run;
    running = undefined;
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(ROWS);
    expect(await counterHistogram(onPrimary(), 'paused_replay')).toEqual({ '1': ROWS });
    expect((await readCursor(primary, runId, 'fill'))!.pass).toBe('done');
    // The event timeline agrees: between the hold and its end no progress was reported.
    const during = progressEvents(ctx.events.filter((e) => e.seq > started.seq && e.seq < cleared.seq));
    for (const p of during) expect(p.rowsDone).toBe(held.rowsDone);
    // And the standby, replaying again, ends with every row updated once too.
    await standbyCaughtUp();
    expect((await standby.query(`select counter, count(*)::int as n from paused_replay group by counter`)).rows).toEqual([
      { counter: 1, n: ROWS },
    ]);
  });

  it('holds while a standby that was streaming is disconnected, until it streams again', async () => {
    await seed('disconnected');
    await standbyCaughtUp();
    // Paused, the standby does not reconnect on its own: it only asks for WAL once it has replayed
    // what it has, so the disconnection lasts until replay resumes.
    await pauseReplay();
    const runId = `lag-${major}-disconnected`;
    const { events, run, next } = startBackfill('disconnected', runId);
    const started = await next(isLagThrottle, 'a replication_lag throttle');

    await primary.query(`select pg_terminate_backend(pid) from pg_stat_replication`);
    await waitFor(
      async () => (await primary.query('select count(*)::int as n from pg_stat_replication')).rows[0].n === 0,
      'the walsender to go',
    );
    // The hold goes on, and says why: the standby is gone from pg_stat_replication, not caught up.
    const gone = await next((e) => isLagThrottle(e) && e.seq > started.seq, 'the disconnection to be announced');
    expect(gone).toMatchObject({ detail: expect.stringMatching(/^standby1 disconnected: holding until it streams again/) });
    const held = (await readCursor(primary, runId, 'fill'))!;
    await sleep(1000);
    expect((await readCursor(primary, runId, 'fill'))!.batches).toBe(held.batches);
    expect(events.some((e) => e.type === 'step.throttle' && e.reason === null)).toBe(false);

    await standby.query('select pg_wal_replay_resume()');
    const cleared = await next((e) => e.type === 'step.throttle' && e.reason !== 'replication_lag', 'the throttle to clear');
    expect(await lagBytes()).not.toBeNull(); // cleared because it is back and caught up
    const { result, error } = await run;
    running = undefined;
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(ROWS);
    expect(await counterHistogram(onPrimary(), 'disconnected')).toEqual({ '1': ROWS });
    expect(cleared.seq).toBeGreaterThan(gone.seq);
  });

  it('warns once when the role cannot see standby positions, instead of treating the lag as zero', async () => {
    await primary.query(`create role lag_blind login`);
    const pool = new pg.Pool({ connectionString: rep.primary.url.replace('//postgres@', '//lag_blind@'), max: 2 });
    const warnings: string[] = [];
    const blind = new ThrottleProbes(pool, 1000, (m) => warnings.push(m));
    const seeing = new ThrottleProbes(pool, 1000, (m) => warnings.push(m));
    try {
      // pg_stat_replication shows the row but NULL positions: no error a probe could report.
      expect(await blind.replication()).toEqual([{ name: 'standby1', lagBytes: null, lagMs: null, trackAbsence: false }]);
      expect(await blind.replication()).toHaveLength(1);
      expect(warnings).toEqual([
        expect.stringMatching(/cannot see the replication lag of standby1: .*pg_read_all_stats.*grant pg_monitor/),
      ]);

      await primary.query(`grant pg_monitor to lag_blind`);
      await standbyCaughtUp();
      const seen = await seeing.replication();
      expect(seen).toHaveLength(1);
      expect(seen![0]).toMatchObject({ name: 'standby1', lagBytes: expect.any(Number), trackAbsence: true });
      expect(warnings).toHaveLength(1);
    } finally {
      await blind.close();
      await seeing.close();
      await pool.end();
    }
  });
});
