// A compact JSON picture of the database at one moment: journaled with every gate decision, so a
// report can say what the operator saw when they approved.
import type { MonitorSample } from './monitor-types.js';

const r1 = (n: number | null | undefined): number | null =>
  n === null || n === undefined || !Number.isFinite(n) ? null : Math.round(n * 10) / 10;
const max = (xs: (number | null | undefined)[]): number | null => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.max(...v) : null;
};

// A type alias (not an interface) so it fits Record<string, unknown> (gate.decided metrics).
export type MetricsSnapshot = {
  at: string;
  role: 'primary' | 'standby' | null;
  connections: { total: number; byState: Record<string, number>; max: number | null };
  locks: { waiting: number; blockers: number; longestWaitSeconds: number | null; maxQueuedBehind: number; oursWaiting: number[] };
  longQueries: {
    count: number;
    longestQuerySeconds: number | null;
    oldestTransactionSeconds: number | null;
    idleInTransaction: number;
    thresholdSeconds: number | null;
  };
  replication: {
    standbys: number;
    maxLagBytes: number | null;
    maxReplayLagSeconds: number | null;
    walBytesPerSecond: number | null;
    inactiveSlots: string[];
    maxSlotRetainedBytes: number | null;
  };
  indexBuilds: { index: string; phase: string; blocksPct: number | null; lockersWaiting: number }[];
  notes: string[];
};

export function metricsSnapshot(sample: MonitorSample): MetricsSnapshot {
  const waiters = sample.locks.filter((l) => l.blockedBy.length > 0);
  const active = sample.longQueries.filter((q) => q.state === 'active' || q.state === 'fastpath function call');
  return {
    at: new Date(sample.at).toISOString(),
    role: sample.role ?? null,
    connections: {
      total: Object.values(sample.connectionsByState).reduce((a, b) => a + b, 0),
      byState: sample.connectionsByState,
      max: sample.maxConnections ?? null,
    },
    locks: {
      waiting: waiters.length,
      blockers: sample.locks.filter((l) => l.blockedBy.length === 0).length,
      longestWaitSeconds: r1(max(waiters.map((l) => l.waitingSeconds))),
      maxQueuedBehind: max(sample.locks.map((l) => l.queuedBehind)) ?? 0,
      oursWaiting: waiters.filter((l) => l.ours).map((l) => l.pid),
    },
    longQueries: {
      count: sample.longQueries.length,
      longestQuerySeconds: r1(max(active.map((q) => q.durationSeconds))),
      oldestTransactionSeconds: r1(max(sample.longQueries.map((q) => q.xactAgeSeconds))),
      idleInTransaction: sample.longQueries.filter((q) => q.state.startsWith('idle in transaction')).length,
      thresholdSeconds: sample.longQuerySeconds ?? null,
    },
    replication: {
      standbys: sample.standbys.length,
      maxLagBytes: max(sample.standbys.map((s) => s.lagBytes)),
      maxReplayLagSeconds: r1(max(sample.standbys.map((s) => s.replayLagSeconds))),
      walBytesPerSecond: sample.walBytesPerSecond === null ? null : Math.round(sample.walBytesPerSecond),
      inactiveSlots: (sample.slots ?? []).filter((s) => !s.active).map((s) => s.name),
      maxSlotRetainedBytes: max((sample.slots ?? []).map((s) => s.retainedBytes)),
    },
    indexBuilds: sample.indexBuilds.map((b) => ({
      index: b.index,
      phase: b.phase,
      blocksPct: b.blocksTotal > 0 ? r1((100 * b.blocksDone) / b.blocksTotal) : null,
      lockersWaiting: Math.max(0, b.lockersTotal - b.lockersDone),
    })),
    notes: sample.notes,
  };
}
