// The pacing a batched walk meets from the backfill engine's WAL rules, for plan's estimate. The
// sample batches are too few to trip them, so their time alone missed it: a 1M-row backfill ran
// 2.8x its estimate while wal_rate and checkpoint_pressure held it back.
//   wal_rate             the batches' duty cycle scales by limit / rate once the rule has two readings
//                        (two probe intervals), so the rest of the WAL goes out at the limit, but the
//                        duty never drops under the rule's floor (1/21);
//   checkpoint_pressure  once the walk has written the WAL left before a checkpoint is requested
//                        (max_wal_size / (1 + checkpoint_completion_target), less what was written
//                        since the last checkpoint's redo point), half duty for the rest of the walk.
import type { Queryable } from '../../pg/queryable.js';
import { probe } from '../../pg/probe.js';
import { sqlText } from '../../pg/sql-files.js';
import { formatBytes } from '../../util/units.js';
import { defaultWalRateApplies, NO_WAL_CONSUMERS, readWalConsumers, type WalConsumers } from '../../pg/wal-consumers.js';
import type { BatchCostSample } from '../../backfill/time-one-batch.js';
import { WAL_RATE_MIN_DUTY } from '../../backfill/wal-checkpoint-rules.js';

/** The server's checkpoint distance: what decides when the walk's WAL gets a checkpoint requested. */
export interface CheckpointFacts {
  maxWalBytes: number;
  completionTarget: number;
  /** WAL written since the last checkpoint's redo point. */
  sinceRedoBytes: number;
  /** Segments pg_wal holds ready for reuse; absent when pg_ls_waldir may not be read. */
  walReuse?: WalReuse;
}

export interface WalReuse {
  ready: number;
  segmentBytes: number;
  /** wal_init_zero: a new segment is written full of zeros (and fsynced) before use. */
  initZero: boolean;
}

export interface WalRules {
  /** wal_rate in bytes/s; 0 = off. */
  walRateBytes: number;
  /** Why wal_rate is off, when it is off for a reason other than the runbook's 0. */
  walRateOff?: string;
  /** checkpoint_pressure's hold; 0 = off. */
  checkpointPressureMs: number;
  probeIntervalMs: number;
}

export interface WalPacing {
  /** Wall time of a walk whose batches alone take `workSeconds`. */
  seconds: (workSeconds: number) => number;
  /** The basis, in words, at the projected work time. */
  note: string;
}

/** What plan reads of the server's WAL: the checkpoint distance and who takes the WAL (whether a default wal_rate applies). */
export interface PlanWalFacts {
  checkpoint: CheckpointFacts | { error: string };
  consumers: WalConsumers | undefined;
}

export async function readPlanWalFacts(db: Queryable): Promise<PlanWalFacts> {
  return { checkpoint: await readCheckpointFacts(db), consumers: await readWalConsumers(db) };
}

/** The wal_rate the run applies: the runbook's, or the default while a standby, a slot or the archive takes the WAL. */
export function walRateInForce(
  walRateBytes: number,
  byDefault: boolean,
  consumers: WalConsumers | undefined,
): Pick<WalRules, 'walRateBytes' | 'walRateOff'> {
  if (!byDefault || walRateBytes <= 0 || defaultWalRateApplies(consumers)) return { walRateBytes };
  return { walRateBytes: 0, walRateOff: `wal_rate's default limit of ${rate(walRateBytes)} is not applied (${NO_WAL_CONSUMERS})` };
}

/** Reads the checkpoint distance; undefined with the reason when the server does not tell (a revoked pg_control_checkpoint). */
export async function readCheckpointFacts(db: Queryable): Promise<CheckpointFacts | { error: string }> {
  try {
    const r = (
      await probe<{ max_wal: number; cct: number; since_redo: number }>(db, sqlText('analyze/plan/sql', 'checkpoint-distance'))
    )[0];
    if (!r) return { error: 'no row' };
    const facts = { maxWalBytes: Number(r.max_wal), completionTarget: Number(r.cct), sinceRedoBytes: Math.max(0, Number(r.since_redo)) };
    const walReuse = await readWalReuse(db);
    return walReuse ? { ...facts, walReuse } : facts;
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The segments ready for reuse; undefined when the role may not list pg_wal (or on a standby). */
async function readWalReuse(db: Queryable): Promise<WalReuse | undefined> {
  try {
    const r = (
      await probe<{ ready: number; segment_bytes: number; init_zero: boolean }>(db, sqlText('analyze/plan/sql', 'wal-segments-ready'))
    )[0];
    return r ? { ready: Number(r.ready), segmentBytes: Number(r.segment_bytes), initZero: r.init_zero } : undefined;
  } catch {
    return undefined;
  }
}

/** Said when the walk writes past the segments ready for reuse and new ones are zero-filled (docs/throttling.md). */
function newSegmentsNote(walBytes: number, reuse: WalReuse | undefined): string | undefined {
  if (!reuse?.initZero) return undefined;
  const readyBytes = reuse.ready * reuse.segmentBytes;
  if (walBytes <= readyBytes) return undefined;
  const fresh = Math.ceil((walBytes - readyBytes) / reuse.segmentBytes);
  return `pg_wal holds ${reuse.ready} segment(s) (${formatBytes(readyBytes)}) ready for reuse, so about ${fresh} new ${formatBytes(reuse.segmentBytes)} segment(s) get zero-filled (wal_init_zero = on) while commits wait, a short stall of the application each (docs/throttling.md, New WAL segments: min_wal_size, wal_init_zero)`;
}

/** WAL bytes per key of the samples (the median of the batches: another writer meanwhile inflates one, not all). */
export function walPerKey(sample: BatchCostSample): number | undefined {
  const per = sample.samples.filter((x) => x.keys > 0 && x.walBytes !== undefined).map((x) => x.walBytes! / x.keys);
  if (per.length === 0) return undefined;
  const s = [...per].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const rate = (b: number) => `${formatBytes(b)}/s`;

/**
 * The walk's wall time under the WAL rules, from the WAL it writes in all (`walBytes`) and the time
 * its batches take alone: full speed until the rule reacts, then at the wal_rate limit, and at half
 * duty (or the limit, if slower) after the checkpoint distance is used up.
 */
export function walPacing(
  walBytes: number,
  workSeconds: number,
  rules: WalRules,
  checkpoint: CheckpointFacts | { error: string },
): WalPacing {
  const react = (2 * rules.probeIntervalMs) / 1000;
  const room =
    'error' in checkpoint || rules.checkpointPressureMs <= 0
      ? undefined
      : Math.max(0, checkpoint.maxWalBytes / (1 + checkpoint.completionTarget) - checkpoint.sinceRedoBytes);
  const seconds = (work: number) => {
    if (!(work > 0) || !(walBytes > 0)) return work;
    const r = walBytes / work;
    const walDuty = rules.walRateBytes > 0 && r > rules.walRateBytes ? Math.max(WAL_RATE_MIN_DUTY, rules.walRateBytes / r) : 1;
    const atReact = Math.min(work, react);
    const atCheckpoint = room === undefined || room >= walBytes ? work : Math.max(atReact, (room / walBytes) * work);
    return atReact + (atCheckpoint - atReact) / walDuty + (work - atCheckpoint) / Math.min(walDuty, 0.5);
  };
  const parts = [`~${formatBytes(walBytes)} of WAL in all, ${rate(walBytes / Math.max(workSeconds, 0.001))} at the projected pace`];
  const r = walBytes / Math.max(workSeconds, 0.001);
  if (rules.walRateBytes <= 0) parts.push(rules.walRateOff ?? 'wal_rate is off');
  else if (r > rules.walRateBytes)
    parts.push(`over the wal_rate limit of ${rate(rules.walRateBytes)}, so after ~${react} s the throttle holds the batches to it`);
  else parts.push(`under the wal_rate limit of ${rate(rules.walRateBytes)}`);
  if (rules.checkpointPressureMs <= 0) parts.push('checkpoint_pressure is off');
  else if ('error' in checkpoint)
    parts.push(`the checkpoint distance was not read (${checkpoint.error}), so checkpoint_pressure is not counted`);
  else {
    const distance = `max_wal_size ${formatBytes(checkpoint.maxWalBytes)} / (1 + checkpoint_completion_target ${checkpoint.completionTarget}), less ${formatBytes(checkpoint.sinceRedoBytes)} written since the last checkpoint`;
    parts.push(
      room! < walBytes
        ? `a checkpoint is requested after ~${formatBytes(room!)} (${distance}), and checkpoint_pressure then runs the batches at half duty`
        : `within the ~${formatBytes(room!)} before a checkpoint is requested (${distance})`,
    );
  }
  const fresh = 'error' in checkpoint ? undefined : newSegmentsNote(walBytes, checkpoint.walReuse);
  if (fresh) parts.push(fresh);
  const extra = seconds(workSeconds) - workSeconds;
  return {
    seconds,
    note: `WAL: ${parts.join('; ')}${extra > 0.05 ? `; the WAL rules add ~${extra < 10 ? extra.toFixed(1) : Math.round(extra)} s` : ''}`,
  };
}
