// The tree shape from hand-made pg_blocking_pids() results: cycles, several blockers, missing rows.
// (The real-PostgreSQL cases are in monitor.test.ts.)
import { describe, expect, it } from 'vitest';
import { buildLockSessions, lockForest } from '../../src/monitor/lock-tree.js';
import type { ActivityRow } from '../../src/monitor/sessions.js';

const row = (pid: number, blockedBy: number[] | null, over: Partial<ActivityRow> = {}): ActivityRow => ({
  pid,
  database: 'app',
  user: 'u',
  app: 'x',
  backendType: 'client backend',
  state: 'active',
  waitEventType: blockedBy ? 'Lock' : null,
  waitEvent: blockedBy ? 'relation' : null,
  queryAge: 10,
  xactAge: 10,
  stateAge: 10,
  query: `q${pid}`,
  blockedBy,
  ...over,
});

describe('lock tree', () => {
  it('counts everyone queued behind a session, transitively', () => {
    const locks = buildLockSessions([row(1, null), row(2, [1]), row(3, [2]), row(4, [2]), row(5, [4])], []);
    const by = new Map(locks.map((l) => [l.pid, l]));
    expect(by.get(1)!.queuedBehind).toBe(4);
    expect(by.get(2)!.queuedBehind).toBe(3);
    expect(by.get(4)!.queuedBehind).toBe(1);
    expect(by.get(5)!.queuedBehind).toBe(0);
    // Without lock detail a blocker that itself waits counts as ahead in the queue (soft).
    expect(by.get(3)!.softBlockedBy).toEqual([2]);
    expect(by.get(2)!.softBlockedBy).toEqual([]);
    const forest = lockForest(locks);
    expect(forest.map((n) => n.session.pid)).toEqual([1]);
    expect(forest[0]!.children[0]!.session.pid).toBe(2);
  });

  it('draws a deadlock cycle once, and blockers it cannot see as bare rows', () => {
    const locks = buildLockSessions([row(1, [2]), row(2, [1]), row(3, [99])], []);
    const forest = lockForest(locks);
    const pids: number[] = [];
    const walk = (n: (typeof forest)[number]) => {
      pids.push(n.session.pid);
      n.children.forEach(walk);
    };
    forest.forEach(walk);
    expect(pids.sort()).toEqual([1, 2, 3, 99]);
    const ghost = locks.find((l) => l.pid === 99)!;
    expect(ghost).toMatchObject({ query: '', state: null, queuedBehind: 1 });
  });

  it('lists the other blockers of a session blocked by several', () => {
    const locks = buildLockSessions([row(1, null), row(2, null), row(3, [1, 2])], []);
    const forest = lockForest(locks);
    const node = forest.flatMap((n) => n.children).find((c) => c.session.pid === 3)!;
    expect(node.alsoBlockedBy).toHaveLength(1);
  });

  it('is empty when nobody waits', () => {
    expect(buildLockSessions([row(1, null)], [])).toEqual([]);
  });
});
