// The blocking tree, built from pg_blocking_pids() (never from joins on pg_locks): who waits behind
// whom, how many queue behind each session, and whether a blocker holds a conflicting lock (hard) or
// only stands ahead in the queue (soft). pg_locks rows are used only for what a waiter waits for.
import type { LockSession } from './monitor-types.js';
import { isOurs, maskQuery, type ActivityRow } from './sessions.js';

/** One row of the locks probe (src/monitor/sql/locks*.sql). */
export interface LockRow {
  pid: number;
  locktype: string;
  mode: string;
  granted: boolean;
  database: number | null;
  relation_oid: string | number | null;
  xid: string | null;
  classid: string | number | null;
  objid: string | number | null;
  objsubid: number | null;
  page: number | null;
  tuple: number | null;
  virtualxid: string | null;
  relation: string | null;
  /** pg_locks.waitstart as epoch seconds (PG 14+), else null. */
  wait_start: number | null;
}

function targetKey(l: LockRow): string {
  return [l.locktype, l.database, l.relation_oid, l.page, l.tuple, l.xid, l.virtualxid, l.classid, l.objid, l.objsubid].join('|');
}

/** Who waits for what: each waiter's ungranted lock row, and the relation of a granted tuple lock. */
interface WaitIndex {
  byPid: Map<number, ActivityRow>;
  waiting: Map<number, LockRow>;
  tupleRel: Map<number, string>;
  /** blocker -> its direct waiters */
  queuedOn: Map<number, number[]>;
  involved: Set<number>;
}

function indexWaits(rows: ActivityRow[], lockRows: LockRow[], waiters: ActivityRow[]): WaitIndex {
  const waiting = new Map<number, LockRow>();
  const tupleRel = new Map<number, string>();
  for (const l of lockRows) {
    if (!l.granted) waiting.set(l.pid, l);
    else if (l.locktype === 'tuple' && l.relation) tupleRel.set(l.pid, l.relation);
  }
  const involved = new Set<number>();
  const queuedOn = new Map<number, number[]>();
  for (const w of waiters) {
    involved.add(w.pid);
    for (const b of w.blockedBy!) {
      involved.add(b);
      const list = queuedOn.get(b) ?? [];
      list.push(w.pid);
      queuedOn.set(b, list);
    }
  }
  return { byPid: new Map(rows.map((r) => [r.pid, r])), waiting, tupleRel, queuedOn, involved };
}

/** Seconds `pid` has waited for its lock; before PG 14 (no waitstart) the statement's age, an upper bound. */
function waitSecondsOf(ix: WaitIndex, pid: number, nowEpoch: number | undefined): number | null {
  const r = ix.byPid.get(pid);
  if (!r?.blockedBy?.length) return null;
  const start = ix.waiting.get(pid)?.wait_start;
  if (start != null && nowEpoch !== undefined) return Math.max(0, nowEpoch - start);
  return r.queryAge ?? null;
}

/** Everyone queued behind `pid`, directly or through others. */
function queuedBehind(ix: WaitIndex, pid: number): number[] {
  const seen = new Set<number>();
  const stack = [...(ix.queuedOn.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    if (p === pid || seen.has(p)) continue;
    seen.add(p);
    stack.push(...(ix.queuedOn.get(p) ?? []));
  }
  return [...seen];
}

function lockSession(ix: WaitIndex, pid: number, nowEpoch: number | undefined): LockSession {
  const r = ix.byPid.get(pid);
  const lock = ix.waiting.get(pid);
  const blockedBy = r?.blockedBy ?? [];
  // Soft: the blocker waits for the same lock, ahead in the queue, rather than holding it.
  const soft = blockedBy.filter((b) => {
    const bl = ix.waiting.get(b);
    if (lock && bl) return targetKey(bl) === targetKey(lock);
    return !lock && !!ix.byPid.get(b)?.blockedBy?.length;
  });
  const queued = queuedBehind(ix, pid);
  const longest = queued.reduce<number | null>((m, p) => {
    const s = waitSecondsOf(ix, p, nowEpoch);
    return s === null ? m : m === null ? s : Math.max(m, s);
  }, null);
  return {
    pid,
    blockedBy,
    softBlockedBy: soft,
    state: r?.state ?? null,
    waitEvent: r?.waitEventType ? `${r.waitEventType}:${r.waitEvent ?? ''}` : null,
    waitingMode: lock?.mode ?? null,
    waitingLockType: lock?.locktype ?? (blockedBy.length ? 'unknown' : null),
    relation: lock?.relation ?? ix.tupleRel.get(pid) ?? null,
    waitingSeconds: waitSecondsOf(ix, pid, nowEpoch),
    xactAgeSeconds: r?.xactAge ?? null,
    query: maskQuery(r?.query),
    applicationName: r?.app ?? '',
    user: r?.user ?? null,
    ours: isOurs(r?.app),
    queuedBehind: queued.length,
    queuedLongestSeconds: longest,
    database: r?.database ?? null,
  };
}

/**
 * Sessions involved in blocking: every lock waiter and every session it waits for.
 * `lockRows` may be empty (locks probe off): then a blocker that itself waits counts as soft.
 * `nowEpoch`: the activity probe's now(), so every age in one sample is taken against one clock.
 */
export function buildLockSessions(rows: ActivityRow[], lockRows: LockRow[], nowEpoch?: number): LockSession[] {
  const waiters = rows.filter((r) => r.blockedBy && r.blockedBy.length > 0);
  if (waiters.length === 0) return [];
  const ix = indexWaits(rows, lockRows, waiters);
  const out = [...ix.involved].map((pid) => lockSession(ix, pid, nowEpoch));
  // Blockers at the head of the longest queues first, then waiters by wait time.
  return out.sort(
    (a, b) => b.queuedBehind - a.queuedBehind || (b.waitingSeconds ?? Infinity) - (a.waitingSeconds ?? Infinity) || a.pid - b.pid,
  );
}

export interface LockNode {
  session: LockSession;
  children: LockNode[];
  /** Other sessions it also waits for, besides its parent in the tree. */
  alsoBlockedBy: number[];
}

/**
 * The forest to draw: roots are sessions that wait for nobody (the head blockers); each waiter hangs
 * under the first blocker holding a conflicting lock (else the first one ahead in the queue).
 * Cycles (a deadlock before the detector fires) are broken by drawing a member as a root.
 */
export function lockForest(locks: LockSession[]): LockNode[] {
  const byPid = new Map(locks.map((l) => [l.pid, l]));
  const parentOf = new Map<number, number>();
  for (const l of locks) {
    const present = l.blockedBy.filter((b) => byPid.has(b));
    const hard = present.filter((b) => !(l.softBlockedBy ?? []).includes(b));
    const parent = hard[0] ?? present[0];
    if (parent !== undefined) parentOf.set(l.pid, parent);
  }
  const kids = new Map<number, LockSession[]>();
  for (const [child, parent] of parentOf) {
    const list = kids.get(parent) ?? [];
    list.push(byPid.get(child)!);
    kids.set(parent, list);
  }
  const seen = new Set<number>();
  const build = (s: LockSession): LockNode => {
    seen.add(s.pid);
    const children = (kids.get(s.pid) ?? [])
      .filter((c) => !seen.has(c.pid))
      .sort((a, b) => b.queuedBehind - a.queuedBehind || (b.waitingSeconds ?? 0) - (a.waitingSeconds ?? 0) || a.pid - b.pid)
      .map(build);
    const parent = parentOf.get(s.pid);
    return { session: s, children, alsoBlockedBy: s.blockedBy.filter((b) => b !== parent) };
  };
  const roots = locks.filter((l) => !parentOf.has(l.pid)).map(build);
  for (const l of locks) if (!seen.has(l.pid)) roots.push(build(l));
  return roots;
}
