// The run's session with a fake server and FakeClock: a second run of the same runbook is refused
// naming who holds the lock, and leaves nothing open; a run whose end cannot be written retries on
// the injected clock, keeps its status and says what is missing and what to do.
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EventBus, type RunEvent } from '../../src/engine/events.js';
import type { RunnerOptions } from '../../src/engine/run-options.js';
import { RunSession } from '../../src/engine/run-session.js';
import { resolveConnection } from '../../src/pg/connection.js';
import type { Runbook } from '../../src/runbook/model.js';
import { FakeClock } from '../../src/util/clock.js';
import { RunLockHeldError } from '../../src/util/runbook-error.js';
import { FakeServer, type FakeSession } from './support/fake-pg.js';

const runbook = { name: 'add_amount', file: 'add.yaml', source: 'version: 1', phases: {}, vars: {} } as unknown as Runbook;
const who = { user: 'ben', host: 'ops-2', pid: 7 };

function sessionOn(server: FakeServer, clock: FakeClock) {
  const opened: FakeSession[] = [];
  const open = () => {
    const s = server.session();
    s.answers.push((sql) => (/server_version_num/.test(sql) ? [{ n: '170004', v: '17.4' }] : undefined));
    opened.push(s);
    return s;
  };
  const pool = open();
  const opts = {
    runbook,
    connection: resolveConnection('postgres://ben@db.internal/app'),
    gates: { request: async () => ({ approved: false, by: 'test' }) },
    nonInteractive: true,
    journalDir: null,
    kinds: new Map(),
    connect: { client: () => open() as unknown as pg.Client, pool: () => pool as unknown as pg.Pool },
  } as unknown as RunnerOptions;
  const bus = new EventBus('r2', () => clock.now());
  const events: RunEvent[] = [];
  bus.on((e) => events.push(e));
  const session = new RunSession({ runId: 'r2', opts, bus, clock, who, gates: opts.gates, onLockLost: () => {} });
  return { session, pool, opened, events };
}

describe('run session', () => {
  it('refuses a second run of the runbook, names the holder, and closes what it opened', async () => {
    const server = new FakeServer();
    const holder = server.session();
    server.locks.set(`1347899970:add_amount`, holder.processID);
    server.runs.push({
      run_id: 'r1',
      runbook_name: 'add_amount',
      backend_pid: holder.processID,
      status: 'running',
      os_user: 'ana',
      host: 'ops-1',
      pid: 4242,
      started_at: '2026-12-06 10:15:00 UTC',
    });
    const { session, opened } = sessionOn(server, new FakeClock());
    const err = await session.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunLockHeldError);
    expect((err as Error).message).toContain(`held by ana@ops-1 (pid 4242, backend pid ${holder.processID}`);
    expect(session.recorded).toBe(false);
    await session.release();
    expect(opened.every((s) => s.ended)).toBe(true);
    // It never held the lock, so it released nothing: the holder keeps it.
    expect(server.locks.get('1347899970:add_amount')).toBe(holder.processID);
    expect(opened.flatMap((s) => s.queries).some((q) => /pg_advisory_unlock/.test(q.sql))).toBe(false);
  });

  it('takes the lock, records the run, and gives the lock back at the end', async () => {
    const server = new FakeServer();
    const { session, pool } = sessionOn(server, new FakeClock());
    await session.open();
    expect(session.recorded).toBe(true);
    expect(session.serverVersionNum).toBe(170004);
    expect(server.locks.size).toBe(1);
    const insert = pool.queries.find((q) => /INSERT INTO pgrunbook\.runs/.test(q.sql))!;
    expect(insert.params.slice(0, 2)).toEqual(['r2', 'add_amount']);
    expect(insert.params.slice(7, 10)).toEqual(['ben', 'ops-2', 7]);
    await session.release();
    expect(server.locks.size).toBe(0);
  });

  it('retries writing the end on the injected clock, then keeps the status and says what is missing', async () => {
    const clock = new FakeClock();
    const { session, pool, events } = sessionOn(new FakeServer(), clock);
    await session.open();
    pool.failNext = { times: 10, error: new Error('cannot execute UPDATE in a read-only transaction') };
    const closing = session.close({ runId: 'r2', status: 'completed' });
    for (const ms of [250, 1_000, 3_000]) {
      await new Promise((r) => setImmediate(r));
      expect(clock.pendingSleeps).toBe(1);
      clock.advance(ms);
    }
    const outcome = await closing;
    expect(outcome.status).toBe('completed');
    expect(outcome.unrecorded).toBe(
      'run r2 completed in the database, but pgrunbook.runs does not record its end (cannot execute UPDATE in a read-only transaction). ' +
        'Once pgrunbook.* accepts writes again, `pgrunbook status` shows what is recorded and `pgrunbook resume r2` records the end (completed steps are not run again).',
    );
    expect(events.at(-1)).toMatchObject({ type: 'step.log', level: 'error', message: outcome.unrecorded });
    await session.release();
  });

  it('a write of the end that succeeds on a retry changes nothing', async () => {
    const clock = new FakeClock();
    const { session, pool } = sessionOn(new FakeServer(), clock);
    await session.open();
    pool.failNext = { times: 2, error: new Error('connection reset') };
    const closing = session.close({ runId: 'r2', status: 'failed', error: new Error('step add failed') });
    for (const ms of [250, 1_000]) {
      await new Promise((r) => setImmediate(r));
      clock.advance(ms);
    }
    expect(await closing).toEqual({ runId: 'r2', status: 'failed', error: new Error('step add failed') });
    const ends = pool.queries.filter((q) => /UPDATE pgrunbook\.runs SET status = \$2/.test(q.sql));
    expect(ends).toHaveLength(3);
    expect(ends[2]!.params).toEqual(['r2', 'failed', 'step add failed']);
    await session.release();
  });
});
