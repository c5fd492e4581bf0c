// The run lock's keeper with a fake server and FakeClock: when the lock's connection dies it takes
// the lock again on a new session and the run goes on, but only when nobody took the lock and the
// run's row is still its own; otherwise, or when no connection comes back within the bound, the run
// must stop, told why (naming who holds the lock).
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { RELOCK_WITHIN_MS, RunLockKeeper } from '../../src/engine/run-lock-keeper.js';
import { sqlText } from '../../src/pg/sql-files.js';
import { FakeClock } from '../../src/util/clock.js';
import { FakeServer, type FakeSession } from './support/fake-pg.js';

const RECLAIM = sqlText('engine/sql', 'run-lock-reclaim');

function keeperOn(server: FakeServer, clock: FakeClock, opts: { rowStillOurs?: boolean; refuseConnects?: number } = {}) {
  const opened: FakeSession[] = [];
  const logs: string[] = [];
  const lost: string[] = [];
  let refuse = opts.refuseConnects ?? 0;
  const keeper = new RunLockKeeper({
    runbookName: 'add_amount',
    runId: 'r1',
    applicationName: 'pgrunbook:r1:lock',
    clock,
    open: () => {
      const s = server.session();
      if (opened.length > 0 && refuse > 0) {
        refuse--;
        s.connect = () => Promise.reject(new Error('connect ECONNREFUSED'));
      }
      s.answers.push((sql) => (sql === RECLAIM ? (opts.rowStillOurs === false ? [] : [{ run_id: 'r1' }]) : undefined));
      opened.push(s);
      return s as unknown as pg.Client;
    },
    log: (_level, m) => logs.push(m),
    lost: (m) => lost.push(m),
  });
  return { keeper, opened, logs, lost };
}

async function settle(clock: FakeClock, ms = 0): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  if (ms) clock.advance(ms);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('run lock keeper', () => {
  it('takes the lock again on a new session when its connection dies, and claims the run row for that session', async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    const { keeper, opened, logs, lost } = keeperOn(server, clock);
    await keeper.client.connect();
    expect(await keeper.take()).toBe(true);
    const first = opened[0]!;
    first.die();
    await keeper.ready();
    expect(lost).toEqual([]);
    expect(opened).toHaveLength(2);
    expect(server.locks.get('1347899970:add_amount')).toBe(opened[1]!.processID);
    const reclaim = opened[1]!.queries.find((q) => q.sql === RECLAIM)!;
    expect(reclaim.params.slice(0, 3)).toEqual(['r1', first.processID, opened[1]!.processID]);
    expect(logs.join('\n')).toMatch(/lost the connection that holds the run lock[\s\S]*took the run lock again/);
    await keeper.release();
    expect(server.locks.size).toBe(0);
  });

  it('stops the run naming the holder when another session took the lock meanwhile', async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    const { keeper, opened, lost } = keeperOn(server, clock);
    await keeper.client.connect();
    await keeper.take();
    const other = server.session('10.0.0.9');
    opened[0]!.die();
    server.locks.set('1347899970:add_amount', other.processID);
    server.runs.push({
      run_id: 'r9',
      runbook_name: 'add_amount',
      backend_pid: other.processID,
      status: 'running',
      os_user: 'ana',
      host: 'ops-1',
      pid: 4242,
      started_at: '2026-12-06 10:15:00 UTC',
    });
    await keeper.ready();
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain(`held by ana@ops-1 (pid 4242, backend pid ${other.processID}`);
    expect(server.locks.get('1347899970:add_amount')).toBe(other.processID);
  });

  it('ends its own lost session when the server still holds the lock for it (packets dropped), then takes the lock', async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    const { keeper, opened, lost, logs } = keeperOn(server, clock);
    await keeper.client.connect();
    await keeper.take();
    const first = opened[0]!;
    const endOrphan = sqlText('engine/sql', 'run-lock-end-orphan');
    const ended: unknown[][] = [];
    server.session = ((orig) =>
      function (this: FakeServer, addr?: string) {
        const s = orig.call(this, addr);
        s.answers.push((sql, params) => {
          if (sql !== endOrphan) return undefined;
          ended.push(params);
          server.locks.delete('1347899970:add_amount');
          return [{ ended: true }];
        });
        return s;
      })(server.session);
    first.die();
    // The server never saw the client go: the lost session still holds the lock.
    server.locks.set('1347899970:add_amount', first.processID);
    await keeper.ready();
    expect(lost).toEqual([]);
    expect(ended).toEqual([[first.processID, 'pgrunbook:r1:lock']]);
    expect(server.locks.get('1347899970:add_amount')).toBe(opened[1]!.processID);
    expect(logs.join('\n')).toMatch(/backend pid \d+\) was still open on the server[\s\S]*took the run lock again/);
  });

  it('gives the lock back and stops when the run was taken up by another session meanwhile', async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    const { keeper, opened, lost } = keeperOn(server, clock, { rowStillOurs: false });
    await keeper.client.connect();
    await keeper.take();
    opened[0]!.die();
    await keeper.ready();
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/taken up by another session/);
    expect(server.locks.size).toBe(0);
  });

  it('retries the connection with backoff and stops once the bound has passed', async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    const { keeper, opened, lost } = keeperOn(server, clock, { refuseConnects: 1000 });
    await keeper.client.connect();
    await keeper.take();
    opened[0]!.die();
    let done = false;
    void keeper.ready().then(() => (done = true));
    await settle(clock, RELOCK_WITHIN_MS / 2);
    expect(done).toBe(false);
    expect(lost).toEqual([]);
    for (let t = 0; t < RELOCK_WITHIN_MS && !done; t += 1_000) await settle(clock, 1_000);
    expect(done).toBe(true);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/could not be reached for 30 s to take it again \(connect ECONNREFUSED\)/);
    expect(lost[0]).toMatch(/pgrunbook resume \S+/);
    expect(opened.length).toBeGreaterThan(3);
  });

  it('comes back when the server answers again within the bound', async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    const { keeper, opened, lost, logs } = keeperOn(server, clock, { refuseConnects: 3 });
    await keeper.client.connect();
    await keeper.take();
    opened[0]!.die();
    let done = false;
    void keeper.ready().then(() => (done = true));
    for (let t = 0; t < RELOCK_WITHIN_MS && !done; t += 250) await settle(clock, 250);
    expect(done).toBe(true);
    expect(lost).toEqual([]);
    expect(opened).toHaveLength(5);
    expect(logs.at(-1)).toMatch(/took the run lock again after \d+\.\d s/);
  });
});
