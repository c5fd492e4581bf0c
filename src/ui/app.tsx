// The run screen. History (the log) goes through <Static> into the scrollback; the live region
// below it is budgeted by computeLayout to stay shorter than the terminal at any size (80×24 over
// SSH included) and re-budgeted on resize.
import type React from 'react';
import { useEffect } from 'react';
import { Box, useStdin } from 'ink';
import { useIntents, useUiShallow, useUiStore } from './context.js';
import { computeLayout } from './layout.js';
import { useTerminalSize } from './use-terminal-size.js';
import { useRunKeys, type RunKeyContext } from './use-run-keys.js';
import { activeBackfill, runningStep } from './store.js';
import { Header } from './components/header.js';
import { StepList } from './components/step-list.js';
import { StepDetail } from './components/step-detail.js';
import { LogTail } from './components/log-tail.js';
import { KeyLegend } from './components/key-legend.js';
import { History } from './components/history.js';
import { MonitorGrid } from './components/monitor-grid.js';
import { BackfillPanel } from './panels/backfill-panel.js';
import { GatePrompt, gateHeight, gateMinHeight } from './widgets/gate/gate-prompt.js';
import { LogPager } from './widgets/pager/log-pager.js';
import { HelpOverlay } from './widgets/help/help-overlay.js';
import { ConfirmDialog } from './widgets/dialog/confirm-dialog.js';

const NOTICE_MS = 4000;

export interface AppProps {
  /** A monitor feeds samples (panels say "waiting" instead of "no monitor"). */
  monitored?: boolean;
  /** Print the log into the scrollback through <Static> (default true). */
  history?: boolean;
}

/** The gate pane's width: beside the step list, or the whole width when the layout is compact. */
function gateWidth(width: number, rows: number): number {
  return rows < 16 || width < 60 ? width : width - Math.min(32, Math.max(20, Math.floor(width * 0.32)));
}

export function App(props: AppProps): React.JSX.Element {
  const store = useUiStore();
  const intents = useIntents();
  const { isRawModeSupported } = useStdin();
  const interactive = isRawModeSupported === true;
  const { columns, rows } = useTerminalSize();
  const ui = useUiShallow((s) => ({
    overlay: s.overlay,
    gate: s.gates[0],
    stepCount: s.run.stepOrder.length,
    hasBackfill: activeBackfill(s.run) !== undefined,
    notice: s.notice,
    runningId: runningStep(s.run)?.id,
    gateDetail: s.gates[0] ? s.run.steps[s.gates[0].stepId]?.detail : undefined,
  }));
  // Notices fade after a few seconds.
  useEffect(() => {
    if (!ui.notice) return;
    const t = setTimeout(() => store.getState().setNotice(undefined), NOTICE_MS);
    return () => clearTimeout(t);
  }, [ui.notice, store]);

  const width = Math.max(20, columns - 1);
  const dialog = ui.overlay === 'confirm-abort' || ui.overlay === 'confirm-quit';
  useRunKeys({ store, intents, context: keyContext(ui.overlay, dialog, ui.gate?.level), active: interactive });

  const layout = computeLayout({
    rows,
    columns: width,
    steps: ui.stepCount,
    gateLines: ui.gate ? gateHeight(ui.gate, ui.gateDetail, gateWidth(width, rows)) : 0,
    gateMinLines: ui.gate ? gateMinHeight(ui.gate, ui.gateDetail, gateWidth(width, rows)) : 0,
    backfill: ui.hasBackfill,
    dialog,
  });
  const bodyHeight = layout.height - layout.header - layout.legend;
  let body: React.JSX.Element;
  if (ui.overlay === 'help') {
    body = <HelpOverlay width={width} height={bodyHeight} active={interactive} />;
  } else if (ui.overlay === 'log') {
    body = <LogPager width={width} height={bodyHeight} active={interactive} />;
  } else {
    body = (
      <MainBody
        layout={layout}
        width={width}
        height={bodyHeight}
        interactive={interactive}
        monitored={!!props.monitored}
        dialog={dialog ? (ui.overlay as 'confirm-abort' | 'confirm-quit') : undefined}
        runningId={ui.runningId}
      />
    );
  }

  return (
    <>
      {props.history === false ? null : <History />}
      <Box flexDirection="column" width={width} height={layout.height} overflow="hidden">
        <Header width={width} lines={layout.header} />
        {body}
        <KeyLegend width={width} interactive={interactive} />
      </Box>
    </>
  );
}

/** Which key map applies: an overlay, a dialog, a gate, or the main screen. */
function keyContext(overlay: string, dialog: boolean, gateLevel: string | undefined): RunKeyContext {
  if (overlay === 'help') return 'help';
  if (overlay === 'log') return 'pager';
  if (dialog) return 'dialog';
  if (gateLevel) return gateLevel === 'type' ? 'typeGate' : 'gate';
  return 'main';
}

interface MainBodyProps {
  layout: ReturnType<typeof computeLayout>;
  width: number;
  height: number;
  interactive: boolean;
  monitored: boolean;
  dialog: 'confirm-abort' | 'confirm-quit' | undefined;
  runningId: string | undefined;
}

/** Steps and the focused pane (the gate, or the running step's detail), panels, then the log or a dialog. */
function MainBody(p: MainBodyProps): React.JSX.Element {
  const intents = useIntents();
  const { gate, gateCount } = useUiShallow((s) => ({ gate: s.gates[0], gateCount: s.gates.length }));
  const { layout, width } = p;
  const rightWidth = layout.compact ? width : width - layout.stepsWidth;
  const focusPane = gate ? (
    <GatePrompt
      key={gate.id}
      req={gate}
      width={rightWidth}
      height={layout.top}
      decide={intents.decideGate}
      interactive={p.interactive}
      focused={!p.dialog}
      queued={gateCount}
    />
  ) : (
    <StepDetail width={rightWidth} height={layout.top} />
  );
  return (
    <Box flexDirection="column" width={width} height={p.height} overflow="hidden">
      <Box height={layout.top} width={width}>
        {layout.compact ? null : <StepList width={layout.stepsWidth} height={layout.top} />}
        {focusPane}
      </Box>
      {layout.backfill > 0 ? <BackfillPanel width={width} height={layout.backfill} /> : null}
      {layout.compact ? null : <MonitorGrid width={width} rows={layout.monitorRows} monitored={p.monitored} />}
      {p.dialog ? (
        <RunDialog kind={p.dialog} width={width} interactive={p.interactive} runningId={p.runningId} />
      ) : (
        <LogTail width={width} height={layout.log} />
      )}
    </Box>
  );
}

/** Abort or quit, asked once more: what happens to the run either way. */
function RunDialog(p: { kind: 'confirm-abort' | 'confirm-quit'; width: number; interactive: boolean; runningId: string | undefined }) {
  const store = useUiStore();
  const intents = useIntents();
  const closeDialog = () => store.getState().setOverlay('none');
  if (p.kind === 'confirm-abort') {
    return (
      <ConfirmDialog
        title="Abort"
        question="Abort the run now?"
        explain="The current step is cancelled and the run is recorded as aborted. Completed steps stay; roll back with the rollback phase."
        width={p.width}
        active={p.interactive}
        onNo={closeDialog}
        onYes={() => {
          closeDialog();
          store.getState().setNotice('aborting…');
          intents.abort();
        }}
      />
    );
  }
  return (
    <ConfirmDialog
      title="Quit"
      question={`Quit while ${p.runningId ?? 'a step'} runs?`}
      explain="The run stops at a safe point and stays resumable: `pgrunbook resume` continues it from any machine."
      width={p.width}
      active={p.interactive}
      onNo={closeDialog}
      onYes={() => {
        closeDialog();
        store.getState().setNotice('stopping at a safe point…');
        intents.quit();
      }}
    />
  );
}
