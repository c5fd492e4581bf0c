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
    gateCount: s.gates.length,
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
  const context: RunKeyContext =
    ui.overlay === 'help'
      ? 'help'
      : ui.overlay === 'log'
        ? 'pager'
        : dialog
          ? 'dialog'
          : ui.gate
            ? ui.gate.level === 'type'
              ? 'typeGate'
              : 'gate'
            : 'main';
  useRunKeys({ store, intents, context, active: interactive });

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
  const closeDialog = () => store.getState().setOverlay('none');

  let body: React.JSX.Element;
  if (ui.overlay === 'help') {
    body = <HelpOverlay width={width} height={bodyHeight} active={interactive} />;
  } else if (ui.overlay === 'log') {
    body = <LogPager width={width} height={bodyHeight} active={interactive} />;
  } else {
    const rightWidth = layout.compact ? width : width - layout.stepsWidth;
    const focusPane = ui.gate ? (
      <GatePrompt
        key={ui.gate.id}
        req={ui.gate}
        width={rightWidth}
        height={layout.top}
        decide={intents.decideGate}
        interactive={interactive}
        focused={!dialog}
        queued={ui.gateCount}
      />
    ) : (
      <StepDetail width={rightWidth} height={layout.top} />
    );
    body = (
      <Box flexDirection="column" width={width} height={bodyHeight} overflow="hidden">
        <Box height={layout.top} width={width}>
          {layout.compact ? null : <StepList width={layout.stepsWidth} height={layout.top} />}
          {focusPane}
        </Box>
        {layout.backfill > 0 ? <BackfillPanel width={width} height={layout.backfill} /> : null}
        {layout.compact ? null : <MonitorGrid width={width} rows={layout.monitorRows} monitored={!!props.monitored} />}
        {dialog ? (
          ui.overlay === 'confirm-abort' ? (
            <ConfirmDialog
              title="Abort"
              question="Abort the run now?"
              explain="The current step is cancelled and the run is recorded as aborted. Completed steps stay; roll back with the rollback phase."
              width={width}
              active={interactive}
              onNo={closeDialog}
              onYes={() => {
                closeDialog();
                store.getState().setNotice('aborting…');
                intents.abort();
              }}
            />
          ) : (
            <ConfirmDialog
              title="Quit"
              question={`Quit while ${ui.runningId ?? 'a step'} runs?`}
              explain="The run stops at a safe point and stays resumable: `pgrunbook resume` continues it from any machine."
              width={width}
              active={interactive}
              onNo={closeDialog}
              onYes={() => {
                closeDialog();
                store.getState().setNotice('stopping at a safe point…');
                intents.quit();
              }}
            />
          )
        ) : (
          <LogTail width={width} height={layout.log} />
        )}
      </Box>
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
