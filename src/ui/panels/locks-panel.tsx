// Locks: the blocking tree from pg_blocking_pids(). Head blockers at the left, the sessions waiting
// behind them indented under them; a waiting DDL says how many queue behind it and for how long.
// Our own (pgrunbook) sessions carry a `*` and the "ours" tone.
import type React from 'react';
import { Box } from 'ink';
import { lockForest, type LockNode } from '../../monitor/lock-tree.js';
import { cancellableSession } from '../../monitor/cancel.js';
import type { LockSession, MonitorSample } from '../../monitor/monitor-types.js';
import { lockSqlName } from '../../pg/lock-modes.js';
import { formatSeconds } from '../../util/units.js';
import { noteRows, clipRows, PanelTitle, SegLine, unavailableNote, type MonitorPanelProps, type Seg } from './monitor-kit.js';

export interface LocksPanelProps extends MonitorPanelProps {
  /** Key that cancels our waiting statement; shown as a hint when there is one to cancel. */
  cancelKey?: string;
  /** Our statements that gave up at lock_timeout (from the executor's events; a poll can miss them). */
  lockTimeouts?: LockTimeout[];
}

export interface LockTimeout {
  stepId: string;
  /** When it gave up (ms since epoch). */
  at: number;
  waitedMs: number;
}

const RECENT_MS = 60_000;

/** Waits that ended in the last minute: those the polls saw, and our lock timeouts. */
export function recentWaitRows(sample: MonitorSample, timeouts: LockTimeout[] = []): Seg[][] {
  const ago = (t: number) => formatSeconds(Math.max(0, (sample.at - t) / 1000));
  const seen: Seg[][] = (sample.recentLockWaits ?? []).map((w) => [
    { text: `ended ${ago(w.endedAt)} ago: `, tone: 'dim' },
    { text: `${w.pid}${w.ours ? '*' : ''}`, tone: w.ours ? 'ours' : undefined },
    { text: ` waited ${formatSeconds(w.seconds)} for ${lockSqlName(w.mode)}${w.relation ? ` on ${w.relation}` : ''}` },
    ...(w.applicationName ? [{ text: ` · ${w.applicationName}`, tone: 'dim' as const }] : []),
  ]);
  const ours: Seg[][] = timeouts
    .filter((t) => sample.at - t.at <= RECENT_MS)
    .map((t) => [
      { text: `${ago(t.at)} ago: `, tone: 'dim' },
      { text: t.stepId, tone: 'ours' },
      { text: ` gave up at lock_timeout after ${formatSeconds(t.waitedMs / 1000)}`, tone: 'warn' },
    ]);
  return [...ours, ...seen];
}

function stateText(s: LockSession): string {
  if (s.state === 'idle in transaction') return `idle in tx ${formatSeconds(s.xactAgeSeconds)}`;
  if (s.state === 'idle in transaction (aborted)') return `idle in tx (aborted) ${formatSeconds(s.xactAgeSeconds)}`;
  if (s.state === null) return 'not visible';
  return `${s.state}${s.xactAgeSeconds !== null ? ` ${formatSeconds(s.xactAgeSeconds)}` : ''}`;
}

function waitText(s: LockSession): string {
  if (s.waitingLockType === 'transactionid' || s.waitingLockType === 'tuple') return `row lock${s.relation ? ` in ${s.relation}` : ''}`;
  if (s.waitingLockType === 'virtualxid') return 'an older transaction';
  if (s.waitingLockType && s.waitingLockType !== 'relation' && s.waitingLockType !== 'unknown')
    return `${lockSqlName(s.waitingMode)} ${s.waitingLockType}`;
  return `${lockSqlName(s.waitingMode)}${s.relation ? ` on ${s.relation}` : ''}`;
}

/** One row of the tree as styled segments (exported for the plain renderer and tests). */
export function lockRowSegs(node: LockNode, prefix: string, parentPid: number | undefined): Seg[] {
  const s = node.session;
  const segs: Seg[] = [
    { text: prefix, tone: 'dim' },
    { text: `${s.pid}`, tone: s.ours ? 'ours' : undefined },
  ];
  if (s.ours) segs.push({ text: '*', tone: 'ours' });
  if (s.blockedBy.length === 0) {
    segs.push({ text: ' holds ', tone: 'bad' }, { text: stateText(s) });
  } else {
    const soft = parentPid !== undefined && (s.softBlockedBy ?? []).includes(parentPid);
    segs.push({ text: soft ? ' queued ' : ' waits ', tone: 'warn' }, { text: `${waitText(s)} ${formatSeconds(s.waitingSeconds)}` });
  }
  if (s.queuedBehind > 0) {
    const longest = s.queuedLongestSeconds != null ? ` (${formatSeconds(s.queuedLongestSeconds)})` : '';
    segs.push({ text: ` · ${s.queuedBehind} queued${longest}`, tone: 'bad' });
  }
  if (node.alsoBlockedBy.length) segs.push({ text: ` · also ${node.alsoBlockedBy.join(',')}`, tone: 'dim' });
  // Who matters most for a holder (the session someone may have to end); what, for a waiter.
  const app: Seg[] = s.applicationName ? [{ text: ` · ${s.applicationName}`, tone: s.ours ? 'ours' : 'dim' }] : [];
  const query: Seg[] = s.query ? [{ text: ` · ${s.query.replace(/\s+/g, ' ')}` }] : [];
  segs.push(...(s.blockedBy.length === 0 ? [...app, ...query] : [...query, ...app]));
  return segs;
}

/** Depth-first rows of the forest with tree connectors. */
export function lockRows(locks: LockSession[]): Seg[][] {
  const rows: Seg[][] = [];
  const walk = (n: LockNode, lead: string, last: boolean, depth: number, parent?: number) => {
    const prefix = depth === 0 ? '' : `${lead}${last ? '└ ' : '├ '}`;
    rows.push(lockRowSegs(n, prefix, parent));
    const nextLead = depth === 0 ? '' : `${lead}${last ? '  ' : '│ '}`;
    n.children.forEach((c, i) => walk(c, nextLead, i === n.children.length - 1, depth + 1, n.session.pid));
  };
  for (const root of lockForest(locks)) walk(root, '', true, 0);
  return rows;
}

export function LocksPanel(props: LocksPanelProps): React.JSX.Element {
  const { sample, width, color } = props;
  const height = Math.max(1, props.height);
  const off = unavailableNote(sample, 'sessions', 'sessions');
  const waiters = sample.locks.filter((l) => l.blockedBy.length > 0);
  const longest = waiters.reduce((m, l) => Math.max(m, l.waitingSeconds ?? 0), 0);
  const recent = off || waiters.length ? [] : recentWaitRows(sample, props.lockTimeouts);
  const extra = off
    ? 'unavailable'
    : waiters.length
      ? `${waiters.length} waiting · longest ${formatSeconds(longest)}`
      : recent.length
        ? `no lock waits now · ${recent.length} in the last minute`
        : 'no lock waits';
  const body: Seg[][] = off ? noteRows(off, width, Math.max(1, height - 1)) : waiters.length ? lockRows(sample.locks) : recent;
  const target = props.cancelKey ? cancellableSession(sample) : undefined;
  const hint: Seg[] | undefined = target
    ? [{ text: `${props.cancelKey}: cancel our pid ${target.pid} (${target.queuedBehind} queued behind it)`, tone: 'ours' }]
    : undefined;
  let room = height - 1 - (hint ? 1 : 0);
  if (room < 1 && hint) room = 0;
  const shown = clipRows(body, room, (n) => [{ text: `… ${n} more session${n > 1 ? 's' : ''}`, tone: 'dim' }]);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <PanelTitle title="Locks" extra={extra} width={width} color={color} tone={waiters.length || recent.length ? 'warn' : undefined} />
      {shown.map((segs, i) => (
        <SegLine key={i} segs={segs} width={width} color={color} />
      ))}
      {hint && height > 1 ? <SegLine segs={hint} width={width} color={color} /> : null}
    </Box>
  );
}
