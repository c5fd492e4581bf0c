// The fleet view: a header with the fleet's counts and every wave's progress, the halt (if any), and
// a grid of targets (state, current step, progress, ETA, throttle) with failures first. Enter shows
// one target's usual run screen, fed by that target's own store; Esc or ← comes back.
import type React from 'react';
import { useEffect, useMemo, useState } from 'react';
import { Box, Text, useStdin } from 'ink';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { formatMs, formatSeconds } from '../util/units.js';
import { App } from './app.js';
import { UiProvider } from './context.js';
import { FLEET_KEYS, type FleetIntents, fleetLegend, useFleetKeys } from './fleet-keys.js';
import { type FleetCore, type FleetRow, type FleetStore, type FleetWaveView, gridRows } from './fleet-store.js';
import { clip, gauge } from './format.js';
import type { Intents } from './intents.js';
import { useTerminalSize } from './use-terminal-size.js';
import { GatePane, gateHeight } from './widgets/gate/gate-prompt.js';

/** Rows and gauges are read from the targets' stores; a tick redraws them this often. */
const TICK_MS = 500;
const NOTICE_MS = 4000;

export interface FleetViewProps {
  store: FleetStore;
  intents: FleetIntents;
  /** The opened target's panels are fed by a monitor (started on Enter, stopped on Esc). */
  monitored?: boolean;
}

const STATE_COLOR: Record<FleetRow['state'], string | undefined> = {
  failed: 'red',
  locked: 'red',
  aborted: 'red',
  interrupted: 'yellow',
  gate: 'magenta',
  paused: 'yellow',
  running: 'green',
  pending: undefined,
  completed: 'green',
  skipped: 'green',
};

function useTick(ms: number): void {
  const [, setN] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setN((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
}

export function FleetView(props: FleetViewProps): React.JSX.Element {
  useTick(TICK_MS);
  const { store } = props;
  const { isRawModeSupported } = useStdin();
  const interactive = isRawModeSupported === true;
  const { columns, rows: termRows } = useTerminalSize();
  const v = useFleetState(store);
  const core = store.getState();
  const rows = gridRows(core);
  useFleetKeys({ store, intents: props.intents, rows, active: interactive });
  useEffect(() => {
    if (!v.notice) return;
    const t = setTimeout(() => store.getState().setNotice(undefined), NOTICE_MS);
    return () => clearTimeout(t);
  }, [v.notice, store]);
  const width = Math.max(40, columns - 1);
  const { opened, targetIntents } = useOpenedTarget(v.opened ? v.targets[v.opened]?.run : undefined, props);
  // The gate between waves takes the screen from an opened target: no target runs while it waits.
  if (v.opened && opened && targetIntents && !v.waveGate) {
    return <TargetScreen name={v.opened} run={opened} intents={targetIntents} width={width} monitored={props.monitored} />;
  }
  // As tall as the grid needs (the last frame stays above the shell prompt), at most the terminal.
  const gateWanted = v.waveGate ? gateHeight(v.waveGate, undefined, width) : 0;
  const wanted = 5 + 1 + gateWanted + Math.max(rows.length, v.overlay === 'help' ? FLEET_KEYS.length + 2 : 1);
  const height = Math.max(8, Math.min(termRows - 1, wanted));
  // The gate gets what it wants; the grid keeps at least its header and one row.
  const gateRows = Math.min(gateWanted, Math.max(0, height - 5 - 2));
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <FleetHeader core={core} width={width} />
      {v.waveGate ? (
        <GatePane
          key={v.waveGate.id}
          req={v.waveGate}
          detail={undefined}
          width={width}
          height={gateRows}
          decide={props.intents.decideWaveGate}
          interactive={interactive}
          focused
          queued={1}
          escapeDeclines={false}
        />
      ) : null}
      {v.overlay === 'help' ? (
        <FleetHelp width={width} />
      ) : (
        <Grid rows={rows} selected={Math.min(v.selected, rows.length - 1)} width={width} height={height - 5 - gateRows} />
      )}
      <Footer store={store} width={width} interactive={interactive} />
    </Box>
  );
}

/** Every fleet event redraws (the last frame, kept on the terminal, must show the end). */
function useFleetState(store: FleetStore) {
  return useStore(
    store,
    useShallow((s) => ({
      opened: s.opened,
      overlay: s.overlay,
      notice: s.notice,
      selected: s.selected,
      targets: s.targets,
      status: s.status,
      waves: s.waves,
      order: s.order,
      waveGate: s.waveGate,
    })),
  );
}

type OpenedRun = NonNullable<FleetCore['targets'][string]['run']>;

/** Only the target on screen polls its database for the panels; q in its screen quits the fleet. */
function useOpenedTarget(opened: OpenedRun | undefined, props: FleetViewProps) {
  useEffect(() => {
    if (!opened?.watch || !props.monitored) return;
    opened.watch(true);
    return () => opened.watch?.(false);
  }, [opened, props.monitored]);
  const targetIntents = useMemo<Intents | undefined>(
    () => (opened ? { ...opened.intents, quit: () => props.intents.quit() } : undefined),
    [opened, props.intents],
  );
  return { opened, targetIntents };
}

/** One target's usual run screen, fed by its own store, under a line saying how to go back. */
function TargetScreen(props: {
  name: string;
  run: OpenedRun;
  intents: Intents;
  width: number;
  monitored: boolean | undefined;
}): React.JSX.Element {
  return (
    <Box flexDirection="column" width={props.width}>
      <Text inverse wrap="truncate">
        {clip(` fleet › ${props.name} · Esc or ← back to the grid `, props.width)}
      </Text>
      <UiProvider store={props.run.store} intents={props.intents}>
        <App history={false} monitored={props.monitored} />
      </UiProvider>
    </Box>
  );
}

function counts(core: FleetCore): string {
  const n: Record<string, number> = {};
  for (const name of core.order) {
    const st = core.targets[name]!.state;
    n[st] = (n[st] ?? 0) + 1;
  }
  const total = core.waves.reduce((k, w) => k + w.size, 0) || core.order.length;
  const done = (n.completed ?? 0) + (n.skipped ?? 0);
  const failed = (n.failed ?? 0) + (n.locked ?? 0) + (n.aborted ?? 0);
  // Interrupted is not failed: the change did not fail, its server went away, and `fleet resume` goes on.
  const interrupted = n.interrupted ?? 0;
  const stopped = interrupted ? `, ${interrupted} interrupted` : '';
  return `${total} targets: ${done} done, ${n.running ?? 0} running, ${failed} failed${stopped}, ${total - done - failed - interrupted - (n.running ?? 0)} to go`;
}

function waveText(w: FleetWaveView): string {
  if (w.state === 'pending') return `wave ${w.wave}: ${w.size} waiting`;
  const took = w.durationMs === undefined ? '' : ` in ${formatMs(w.durationMs)}`;
  const failed = w.failed ? `, ${w.failed} failed` : '';
  return `wave ${w.wave}: ${w.state === 'done' ? `${w.completed}/${w.size} done${took}` : `running (parallel ${w.parallel})`}${failed}`;
}

function FleetHeader(props: { core: FleetCore; width: number }): React.JSX.Element {
  const { core, width } = props;
  const status = core.status.toUpperCase();
  const color = core.status === 'halted' ? 'red' : core.status === 'completed' ? 'green' : 'yellow';
  const running = core.waves.filter((w) => w.state === 'running');
  const waveLine = core.waves
    .map((w) => {
      if (w.state !== 'running') return waveText(w);
      const names = core.order.filter((n) => core.targets[n]!.wave === w.wave);
      const done = names.filter((n) => ['completed', 'skipped'].includes(core.targets[n]!.state)).length;
      return `wave ${w.wave}: ${done}/${w.size} ${gauge(w.size ? done / w.size : 0, 8)}`;
    })
    .join(' · ');
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold>pgrunbook fleet</Text> <Text color={color}>{status}</Text>
        {` · ${counts(core)}${core.durationMs !== undefined ? ` · ${formatMs(core.durationMs)}` : ''}`}
      </Text>
      <Text wrap="truncate">{clip(waveLine || (running.length ? '' : 'waiting for the first wave'), width)}</Text>
      <Text color="red" wrap="truncate">
        {core.haltReason ? clip(`HALTED: ${core.haltReason}; no further target starts`, width) : ' '}
      </Text>
    </Box>
  );
}

const COLS = { wave: 5, state: 12, step: 20, progress: 16, eta: 8 };

function progressCell(r: FleetRow): string {
  if (r.fraction !== undefined) return `${gauge(r.fraction, 8)} ${String(Math.floor(r.fraction * 100)).padStart(3)}%`;
  return r.steps ? `${r.stepsDone}/${r.steps} steps` : '';
}

function rowCells(r: FleetRow, nameWidth: number, restWidth: number): string[] {
  const last = r.reason ?? (r.throttle ? `throttled: ${r.throttle}` : '');
  return [
    clip(r.name, nameWidth).padEnd(nameWidth),
    String(r.wave || '').padEnd(COLS.wave),
    r.state.padEnd(COLS.state),
    clip(r.step ?? '', COLS.step - 1).padEnd(COLS.step),
    progressCell(r).padEnd(COLS.progress),
    (r.etaSeconds ? formatSeconds(r.etaSeconds) : '').padEnd(COLS.eta),
    clip(last, Math.max(0, restWidth)),
  ];
}

function Grid(props: { rows: FleetRow[]; selected: number; width: number; height: number }): React.JSX.Element {
  const { rows, width } = props;
  const nameWidth = Math.min(24, Math.max(8, ...rows.map((r) => r.name.length)) + 1);
  const fixed = nameWidth + COLS.wave + COLS.state + COLS.step + COLS.progress + COLS.eta + 2;
  const rest = width - fixed;
  const room = Math.max(1, props.height - 1);
  const start = Math.max(0, Math.min(props.selected - Math.floor(room / 2), rows.length - room));
  const shown = rows.slice(start, start + room);
  const head = ['target'.padEnd(nameWidth), 'wave'.padEnd(COLS.wave), 'state'.padEnd(COLS.state), 'step'.padEnd(COLS.step)];
  return (
    <Box flexDirection="column" width={width} height={props.height}>
      <Text dimColor wrap="truncate">
        {`  ${head.join('')}${'progress'.padEnd(COLS.progress)}${'ETA'.padEnd(COLS.eta)}throttle / why`}
      </Text>
      {shown.map((r, i) => {
        const cells = rowCells(r, nameWidth, rest);
        const sel = start + i === props.selected;
        return (
          <Text key={r.name} wrap="truncate" inverse={sel}>
            {sel ? '› ' : '  '}
            {cells[0]}
            {cells[1]}
            <Text color={STATE_COLOR[r.state]}>{cells[2]}</Text>
            {cells.slice(3, 6).join('')}
            <Text color={r.reason ? 'red' : 'yellow'}>{cells[6]}</Text>
          </Text>
        );
      })}
      {rows.length > start + room ? <Text dimColor>{`  … ${rows.length - start - room} more (↓)`}</Text> : null}
    </Box>
  );
}

function FleetHelp(props: { width: number }): React.JSX.Element {
  return (
    <Box flexDirection="column" width={props.width}>
      <Text bold>Fleet keys (any key closes)</Text>
      {FLEET_KEYS.map((b) => (
        <Text key={b.action} wrap="truncate">
          {`${b.label.padEnd(8)} ${b.help}`}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {clip("With a target open, its run screen's keys work as in `pgrunbook run` (? there lists them).", props.width)}
      </Text>
    </Box>
  );
}

function Footer(props: { store: FleetStore; width: number; interactive: boolean }): React.JSX.Element {
  const { overlay, notice, waveGate } = useStore(
    props.store,
    useShallow((s) => ({ overlay: s.overlay, notice: s.notice, waveGate: s.waveGate })),
  );
  if (overlay === 'confirm-abort' || overlay === 'confirm-quit') {
    const text =
      overlay === 'confirm-abort'
        ? 'Abort the fleet? No target starts; every running target is aborted (recorded as aborted). [y/N]'
        : 'Quit? No target starts; running targets stop at a safe point; `fleet resume` continues. [y/N]';
    return (
      <Text bold color="yellow" wrap="truncate">
        {clip(text, props.width)}
      </Text>
    );
  }
  if (!props.interactive) return <Text dimColor>no keyboard here (stdin is not a terminal): watching only</Text>;
  if (waveGate)
    return (
      <Text dimColor wrap="truncate">
        {clip(`y starts ${waveGate.stepId} · n or Enter halts the fleet (\`fleet resume\` asks again) · Ctrl+C quits`, props.width)}
      </Text>
    );
  return (
    <Text dimColor={!notice} wrap="truncate">
      {notice ? clip(notice, props.width) : fleetLegend(props.width)}
    </Text>
  );
}
