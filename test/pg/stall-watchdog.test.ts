// The stall watchdog's decisions, driven by a fake clock and a fake state probe: no server, no
// real sleeping. Each check is what the watchdog's timer would run every CHECK_MS.
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CHECK_MS, STALL_AFTER_MS, StallWatchdog, UNREACHABLE_MS } from '../../src/pg/stall-watchdog.js';
import { FakeClock } from '../../src/util/clock.js';

/** The parts of a node-postgres client the watchdog reads, and a socket that records being destroyed. */
class FakeClient extends EventEmitter {
  _activeQuery: object | null = null;
  destroyed = 0;
  connection = { stream: { destroy: () => void this.destroyed++ } };
  constructor(public processID: number) {
    super();
  }
}

function setup(states: (pids: number[]) => Map<number, string>) {
  const clock = new FakeClock();
  const probed: number[][] = [];
  let unreachable = false;
  let check: (() => Promise<void>) | undefined;
  let stopped = 0;
  const dog = new StallWatchdog('postgres://unused', {
    clock,
    probe: async (pids) => {
      probed.push(pids);
      if (unreachable) throw new Error('connect ECONNREFUSED');
      return states(pids);
    },
    every: (fn, ms) => {
      expect(ms).toBe(CHECK_MS);
      check = fn;
      return () => void stopped++;
    },
  });
  const client = new FakeClient(4242);
  dog.track(client as unknown as pg.Client);
  /** Moves time one check interval on and runs the check. */
  const step = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      clock.advance(CHECK_MS);
      await check!();
    }
  };
  return {
    clock,
    client,
    probed,
    step,
    dog,
    stopped: () => stopped,
    setUnreachable: (v: boolean) => {
      unreachable = v;
    },
  };
}

describe('stall watchdog', () => {
  it('asks nothing about an idle session or a query in flight for 5 s or less', async () => {
    const t = setup(() => new Map([[4242, 'idle']]));
    await t.step(4);
    expect(t.probed).toHaveLength(0);
    t.client._activeQuery = {};
    await t.step(1); // first seen in flight here
    await t.step(STALL_AFTER_MS / CHECK_MS); // exactly 5 s: not yet
    expect(t.probed).toHaveLength(0);
    await t.step(1);
    expect(t.probed).toEqual([[4242]]);
  });

  it('destroys the socket when the server says the query is not running in two checks in a row', async () => {
    const t = setup(() => new Map([[4242, 'idle']]));
    t.client._activeQuery = {};
    await t.step(4); // seen, then over 5 s in flight: the first probe
    expect(t.probed).toHaveLength(1);
    expect(t.client.destroyed).toBe(0); // one check is not enough
    await t.step(1);
    expect(t.client.destroyed).toBe(1);
  });

  it('never touches a statement the server is still running, however long it takes', async () => {
    const t = setup(() => new Map([[4242, 'active']]));
    t.client._activeQuery = {};
    await t.step((60 * 60_000) / CHECK_MS); // an hour
    expect(t.probed.length).toBeGreaterThan(1000);
    expect(t.client.destroyed).toBe(0);
  });

  it('starts counting again when the server sees the query running between two idle answers', async () => {
    const answers = ['idle', 'active', 'idle'];
    const t = setup(() => new Map([[4242, answers.shift() ?? 'active']]));
    t.client._activeQuery = {};
    await t.step(3 + 3);
    expect(t.probed).toHaveLength(3);
    expect(t.client.destroyed).toBe(0);
  });

  it('destroys the socket at once when its backend is gone from the server', async () => {
    const t = setup(() => new Map());
    t.client._activeQuery = {};
    await t.step(4);
    expect(t.probed).toHaveLength(1);
    expect(t.client.destroyed).toBe(1);
  });

  it('a new query on the session restarts its 5 s', async () => {
    const t = setup(() => new Map([[4242, 'idle']]));
    t.client._activeQuery = {};
    await t.step(2);
    t.client._activeQuery = {};
    await t.step(2);
    expect(t.probed).toHaveLength(0);
  });

  it('destroys the socket only once the server has been unreachable for 15 s', async () => {
    const t = setup(() => new Map([[4242, 'active']]));
    t.client._activeQuery = {};
    t.setUnreachable(true);
    await t.step(4); // in flight over 5 s: the first probe fails, the unreachable clock starts
    const checks = UNREACHABLE_MS / CHECK_MS;
    await t.step(checks - 1);
    expect(t.client.destroyed).toBe(0);
    await t.step(1);
    expect(t.client.destroyed).toBe(1);
  });

  it('an answer from the server resets the unreachable clock', async () => {
    const t = setup(() => new Map([[4242, 'active']]));
    t.client._activeQuery = {};
    t.setUnreachable(true);
    await t.step(3 + 4);
    t.setUnreachable(false);
    await t.step(1);
    t.setUnreachable(true);
    await t.step(UNREACHABLE_MS / CHECK_MS - 1);
    expect(t.client.destroyed).toBe(0);
  });

  it('forgets a session that ended and stops checking when none is left', async () => {
    const t = setup(() => new Map());
    t.client._activeQuery = {};
    t.client.emit('end');
    await t.step(4);
    expect(t.probed).toHaveLength(0);
    expect(t.client.destroyed).toBe(0);
    expect(t.stopped()).toBe(1);
  });
});
