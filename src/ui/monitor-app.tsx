// `pgrunbook monitor`: the four live panels alone, stacked at full width, for any database; with
// --node-exporter / --prometheus, the database host's line above them.
// Keys (only with a raw-mode TTY): q quits, space freezes the panels, c cancels our own statement
// that waits for a lock (after a y/N confirm).
import type React from 'react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput, useStdin } from 'ink';
import { cancellableSession, type CancelResult } from '../monitor/cancel.js';
import type { MonitorSample } from '../monitor/monitor-types.js';
import { formatBytes, formatSeconds } from '../util/units.js';
import { useTerminalSize } from './use-terminal-size.js';
import { LocksPanel, lockRows } from './panels/locks-panel.js';
import { LongQueriesPanel } from './panels/long-queries-panel.js';
import { ReplicationPanel, replicationRows } from './panels/replication-panel.js';
import { IndexBuildPanel, indexBuildRows } from './panels/index-build-panel.js';
import { SegLine, type Seg } from './panels/monitor-kit.js';
import { hostRows } from './panels/workload-panel.js';

/** What MonitorApp needs from a Monitor (src/monitor/monitor-poller.ts implements it). */
export interface MonitorFeed {
  subscribe(listener: (s: MonitorSample) => void): () => void;
  onError(listener: (err: unknown) => void): () => void;
  readonly latest: MonitorSample | undefined;
  readonly intervalMs: number;
}

export interface MonitorAppProps {
  feed: MonitorFeed;
  /** "user@host:port/db": never the password. */
  target: string;
  color?: boolean;
  onQuit?(): void;
  /** Cancels one of our statements (cancelOwnStatement bound to a pool); without it `c` is off. */
  cancel?(pid: number): Promise<CancelResult>;
  /** Turns a poll error into one line (explainConnectionError); default: its message. */
  describeError?(err: unknown): string;
}

export function versionText(num: number): string {
  return num >= 100000 ? `${Math.floor(num / 10000)}.${num % 10000}` : String(num);
}

/** Heights for [Locks, Long queries, Replication, Index build] within `total` lines. */
export function allocateHeights(wants: number[], mins: number[], total: number): number[] {
  const h = mins.map((m, i) => Math.min(m, wants[i]!));
  let left = total - h.reduce((a, b) => a + b, 0);
  while (left > 0) {
    let grew = false;
    for (let i = 0; i < h.length && left > 0; i++) {
      if (h[i]! < wants[i]!) {
        h[i]!++;
        left--;
        grew = true;
      }
    }
    if (!grew) break;
  }
  // Too small even for the minimums: take lines back from the bottom panels first.
  for (let i = h.length - 1; left < 0 && i >= 0; i--) {
    const give = Math.min(h[i]! - 1, -left);
    h[i]! -= give;
    left += give;
  }
  return h;
}

export function MonitorApp(props: MonitorAppProps): React.JSX.Element {
  const { feed, color } = props;
  const { columns, rows } = useTerminalSize();
  const { isRawModeSupported } = useStdin();
  const { live, error } = useFeed(feed, props.describeError);
  const { frozen, notice, confirmPid } = useMonitorKeys(live, props, isRawModeSupported === true);

  const sample = frozen ?? live;
  const width = Math.max(20, columns);
  const header = headerSegs(sample, !!frozen, props.target, feed.intervalMs);
  const legend = legendSegs(isRawModeSupported === true, !!frozen, !!props.cancel);
  const status = statusRows(sample, error, confirmPid, notice, feed.intervalMs);
  const noteRows = noteRowsOf(sample);
  const host = sample?.host ? hostRows(sample.host, width) : [];
  // The live region stays shorter than the terminal.
  const total = Math.max(4, rows - 1) - 2 - host.length - status.length - noteRows.length;
  const body = sample ? (
    <MonitorPanels
      sample={sample}
      width={width}
      height={total}
      color={color}
      cancellable={!!props.cancel}
      cancelKey={props.cancel && isRawModeSupported ? 'c' : undefined}
    />
  ) : (
    <Text>{error ? ' ' : 'waiting for the first sample…'}</Text>
  );
  return (
    <Box flexDirection="column" width={width}>
      <SegLine segs={header} width={width} color={color} />
      <SegLines prefix="h" rows={host} width={width} color={color} />
      {body}
      <SegLines prefix="n" rows={noteRows} width={width} color={color} />
      <SegLines prefix="s" rows={status} width={width} color={color} />
      <SegLine segs={legend} width={width} color={color} />
    </Box>
  );
}

function SegLines({ prefix, rows, width, color }: { prefix: string; rows: Seg[][]; width: number; color?: boolean | undefined }) {
  return (
    <>
      {rows.map((r, i) => (
        <SegLine key={`${prefix}${i}`} segs={r} width={width} color={color} />
      ))}
    </>
  );
}

/**
 * q quits, space freezes, c asks to cancel our waiting statement and y/N answers. The handler
 * stays the same function: useInput re-subscribes whenever it changes, and a key arriving between
 * the unsubscribe and the re-subscribe (right after a new sample renders) is lost.
 */
function useMonitorKeys(live: MonitorSample | undefined, props: Pick<MonitorAppProps, 'cancel' | 'onQuit'>, isActive: boolean) {
  const { exit } = useApp();
  const [frozen, setFrozen] = useState<MonitorSample | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [confirmPid, setConfirmPid] = useState<number | undefined>();
  const state = useRef({ confirmPid, live, cancel: props.cancel, onQuit: props.onQuit });
  state.current = { confirmPid, live, cancel: props.cancel, onQuit: props.onQuit };
  const onKey = useCallback(
    (input: string, key: { escape: boolean; return: boolean }) => {
      const { confirmPid, live, cancel, onQuit } = state.current;
      if (confirmPid !== undefined) {
        if (input === 'y' || input === 'Y') {
          setConfirmPid(undefined);
          setNotice(`cancelling pid ${confirmPid}…`);
          void cancel?.(confirmPid).then(
            (r) => setNotice(r.message),
            (e: Error) => setNotice(`cancel failed: ${e.message}`),
          );
        } else if (input === 'n' || input === 'N' || key.escape || key.return) {
          setConfirmPid(undefined);
          setNotice('not cancelled');
        }
        return;
      }
      if (input === 'q') {
        onQuit?.();
        exit();
      } else if (input === ' ') {
        setFrozen((f) => (f ? undefined : live));
      } else if (input === 'c' && cancel) {
        // Always the live sample: the statement must be waiting now, not when the screen froze.
        const target = cancellableSession(live);
        if (target) setConfirmPid(target.pid);
        else setNotice('none of our (pgrunbook) statements is waiting for a lock');
      }
    },
    [exit],
  );
  useInput(onKey, { isActive });
  return { frozen, notice, confirmPid };
}

function headerSegs(sample: MonitorSample | undefined, frozen: boolean, target: string, intervalMs: number): Seg[] {
  return [
    { text: 'pgrunbook monitor', tone: 'strong' },
    ...(frozen ? [{ text: ' · FROZEN', tone: 'warn' as const }] : []),
    { text: ` · ${target}` },
    ...(sample ? [{ text: ` · PG ${versionText(sample.serverVersionNum)}${sample.allDatabases ? ' · all databases' : ''}` }] : []),
    { text: ` · every ${formatSeconds(intervalMs / 1000)}`, tone: 'dim' },
    ...(sample ? [{ text: ` · poll ${sample.pollMs.toFixed(1)}ms`, tone: 'dim' as const }] : []),
  ];
}

function legendSegs(rawMode: boolean, frozen: boolean, canCancel: boolean): Seg[] {
  return [
    {
      text: rawMode
        ? `q quit · space ${frozen ? 'resume' : 'freeze'}${canCancel ? ' · c cancel our waiting statement' : ''}`
        : 'Ctrl+C quits',
      tone: 'dim',
    },
    { text: ' · * = pgrunbook session', tone: 'ours' },
  ];
}

/** The latest sample and the latest error (cleared by the next sample). */
function useFeed(feed: MonitorFeed, describeError: MonitorAppProps['describeError']) {
  const [live, setLive] = useState<MonitorSample | undefined>(feed.latest);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const offSample = feed.subscribe((s) => {
      setLive(s);
      setError(undefined);
    });
    const offError = feed.onError((err) => setError(describeError ? describeError(err) : ((err as Error)?.message ?? String(err))));
    return () => {
      offSample();
      offError();
    };
  }, [feed]);
  return { live, error };
}

/** Relation sizes, then the error, the cancel question or the last notice. */
function statusRows(
  sample: MonitorSample | undefined,
  error: string | undefined,
  confirmPid: number | undefined,
  notice: string | undefined,
  intervalMs: number,
): Seg[][] {
  const status: Seg[][] = [];
  const sizes = sample?.relationSizes ?? [];
  if (sizes.length) {
    status.push([
      { text: 'sizes: ', tone: 'dim' },
      { text: sizes.map((r) => `${r.relation} ${r.bytes !== null ? formatBytes(r.bytes) : `? (${r.skipped ?? 'skipped'})`}`).join(' · ') },
    ]);
  }
  if (error) status.push([{ text: `${error} (retrying every ${formatSeconds(intervalMs / 1000)})`, tone: 'bad' }]);
  if (confirmPid !== undefined) status.push([{ text: `Cancel our statement in pid ${confirmPid}? y/N`, tone: 'warn' }]);
  else if (notice) status.push([{ text: notice }]);
  return status;
}

/** At most two notes; the second says how many more there are. */
function noteRowsOf(sample: MonitorSample | undefined): Seg[][] {
  const notes = sample?.notes ?? [];
  const rows: Seg[][] = notes.slice(0, 2).map((n) => [{ text: `note: ${n}`, tone: 'warn' }]);
  if (notes.length > 2) rows[1] = [{ text: `note: ${notes[1]} (+${notes.length - 2} more)`, tone: 'warn' }];
  return rows;
}

interface MonitorPanelsProps {
  sample: MonitorSample;
  width: number;
  height: number;
  color?: boolean;
  cancellable: boolean;
  cancelKey: string | undefined;
}

/** The four panels stacked, sharing `height` by what each wants (at least 2, 2, 2 and 1 rows). */
function MonitorPanels({ sample, width, height, color, cancellable, cancelKey }: MonitorPanelsProps): React.JSX.Element {
  const wants = [
    1 + Math.max(1, lockRows(sample.locks).length) + (cancellable && cancellableSession(sample) ? 1 : 0),
    1 + Math.max(1, sample.longQueries.length + ((sample.hiddenSessions ?? 0) > 0 ? 1 : 0)),
    1 + replicationRows(sample).length,
    1 + sample.indexBuilds.reduce((a, b) => a + indexBuildRows(b, width).length, 0),
  ];
  const [hl, hq, hr, hi] = allocateHeights(wants, [2, 2, 2, 1], Math.max(4, height));
  return (
    <>
      <LocksPanel sample={sample} width={width} height={hl!} color={color} cancelKey={cancelKey} />
      <LongQueriesPanel sample={sample} width={width} height={hq!} color={color} />
      <ReplicationPanel sample={sample} width={width} height={hr!} color={color} />
      <IndexBuildPanel sample={sample} width={width} height={hi!} color={color} />
    </>
  );
}
