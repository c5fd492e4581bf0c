// Alert thresholds over a sample (the `watch` step kind): what is over its limit, said so an operator
// knows where to look.
import { formatBytes, formatSeconds, oneLine } from '../util/units.js';
import type { MonitorSample } from './monitor-types.js';

export interface WatchLimits {
  maxReplicationLagBytes?: number;
  maxReplayLagSeconds?: number;
  maxLockWaitSeconds?: number;
  maxLongQuerySeconds?: number;
  maxTransactionAgeSeconds?: number;
}

export type LimitName = keyof WatchLimits;

export interface Breach {
  limit: LimitName;
  value: number;
  max: number;
  pid?: number;
  /** One sentence: what, how much, the limit, and who. */
  reason: string;
}

/** Which sample part each limit needs (see MonitorSample.unavailable). */
const NEEDS: Record<LimitName, string> = {
  maxReplicationLagBytes: 'replication',
  maxReplayLagSeconds: 'replication',
  maxLockWaitSeconds: 'sessions',
  maxLongQuerySeconds: 'sessions',
  maxTransactionAgeSeconds: 'sessions',
};

export function checkThresholds(sample: MonitorSample, limits: WatchLimits): Breach[] {
  const out: Breach[] = [];
  const { maxReplicationLagBytes: lagMax, maxReplayLagSeconds: replayMax, maxLockWaitSeconds: lockMax } = limits;
  for (const s of sample.standbys) {
    if (lagMax !== undefined && s.lagBytes !== null && s.lagBytes > lagMax) {
      out.push({
        limit: 'maxReplicationLagBytes',
        value: s.lagBytes,
        max: lagMax,
        reason: `replication lag to standby ${s.name} is ${formatBytes(s.lagBytes)} (max_replication_lag ${formatBytes(lagMax)})`,
      });
    }
    if (replayMax !== undefined && s.replayLagSeconds !== null && s.replayLagSeconds > replayMax) {
      out.push({
        limit: 'maxReplayLagSeconds',
        value: s.replayLagSeconds,
        max: replayMax,
        reason: `replay lag on standby ${s.name} is ${formatSeconds(s.replayLagSeconds)} (max_replay_lag ${formatSeconds(replayMax)})`,
      });
    }
  }
  if (lockMax !== undefined) {
    const worst = sample.locks
      .filter((l) => l.blockedBy.length > 0 && l.waitingSeconds !== null && l.waitingSeconds > lockMax)
      .sort((a, b) => b.waitingSeconds! - a.waitingSeconds!)[0];
    if (worst) {
      const what = worst.waitingMode ? `${worst.waitingMode}${worst.relation ? ` on ${worst.relation}` : ''}` : 'a lock';
      out.push({
        limit: 'maxLockWaitSeconds',
        value: worst.waitingSeconds!,
        max: lockMax,
        pid: worst.pid,
        reason: `pid ${worst.pid} has waited ${formatSeconds(worst.waitingSeconds)} for ${what}, blocked by ${worst.blockedBy.join(', ')} (max_lock_wait ${formatSeconds(lockMax)}): ${oneLine(worst.query, 60)}`,
      });
    }
  }
  const { maxLongQuerySeconds: queryMax, maxTransactionAgeSeconds: xactMax } = limits;
  if (queryMax !== undefined) {
    const worst = sample.longQueries
      .filter((q) => (q.state === 'active' || q.state === 'fastpath function call') && q.durationSeconds > queryMax)
      .sort((a, b) => b.durationSeconds - a.durationSeconds)[0];
    if (worst) {
      out.push({
        limit: 'maxLongQuerySeconds',
        value: worst.durationSeconds,
        max: queryMax,
        pid: worst.pid,
        reason: `pid ${worst.pid} (${worst.applicationName || worst.user || 'unknown'}) has run one statement for ${formatSeconds(worst.durationSeconds)} (max_long_query ${formatSeconds(queryMax)}): ${oneLine(worst.query, 60)}`,
      });
    }
  }
  if (xactMax !== undefined) {
    const worst = sample.longQueries
      .filter((q) => q.xactAgeSeconds !== null && q.xactAgeSeconds > xactMax)
      .sort((a, b) => b.xactAgeSeconds! - a.xactAgeSeconds!)[0];
    if (worst) {
      out.push({
        limit: 'maxTransactionAgeSeconds',
        value: worst.xactAgeSeconds!,
        max: xactMax,
        pid: worst.pid,
        reason: `pid ${worst.pid} (${worst.applicationName || worst.user || 'unknown'}, ${worst.state}) has a transaction open for ${formatSeconds(worst.xactAgeSeconds)} (max_transaction_age ${formatSeconds(xactMax)})`,
      });
    }
  }
  return out;
}

/** Limits this sample cannot check (their probe is off or failed, or details are hidden). */
export function uncheckable(sample: MonitorSample, limits: WatchLimits): LimitName[] {
  const off = new Set(sample.unavailable ?? []);
  const hiddenLag = sample.standbys.some((s) => s.lagBytes === null && s.state === 'hidden');
  return (Object.keys(limits) as LimitName[]).filter(
    (k) => limits[k] !== undefined && (off.has(NEEDS[k]) || (NEEDS[k] === 'replication' && hiddenLag)),
  );
}
