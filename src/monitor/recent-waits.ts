// Lock waits that have ended. The Locks panel shows the waits of one poll; a wait that ended since
// (a DDL that got its lock, or gave up at lock_timeout) would vanish without a trace and the panel
// would say "no lock waits" right after one. This keeps each wait seen by any poll for a while
// after it ends, with the longest wait time seen.
import type { LockSession, RecentLockWait } from './monitor-types.js';

/** How long an ended wait stays listed. */
export const RECENT_WAIT_MS = 60_000;

function waitKey(s: LockSession): string {
  return `${s.pid}|${s.waitingLockType ?? ''}|${s.relation ?? ''}|${s.waitingMode ?? ''}`;
}

export class RecentWaits {
  private open = new Map<string, RecentLockWait>();
  private ended: RecentLockWait[] = [];

  /** Feeds one poll's sessions (taken at `now`, ms); returns the waits ended within RECENT_WAIT_MS, newest first. */
  observe(locks: LockSession[], now: number): RecentLockWait[] {
    const seen = new Map<string, RecentLockWait>();
    for (const s of locks) {
      if (s.blockedBy.length === 0) continue;
      const key = waitKey(s);
      const before = this.open.get(key);
      seen.set(key, {
        pid: s.pid,
        relation: s.relation,
        mode: s.waitingMode ?? null,
        lockType: s.waitingLockType ?? null,
        seconds: Math.max(before?.seconds ?? 0, s.waitingSeconds ?? 0),
        endedAt: now,
        ours: s.ours,
        applicationName: s.applicationName,
      });
    }
    // Waits seen last poll and gone now ended between the two polls.
    for (const [key, w] of this.open) if (!seen.has(key)) this.ended.unshift({ ...w, endedAt: now });
    this.open = seen;
    this.ended = this.ended.filter((w) => now - w.endedAt <= RECENT_WAIT_MS).slice(0, 20);
    return [...this.ended];
  }
}
