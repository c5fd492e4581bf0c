// The gate view: what approving does, every lock it takes and what that blocks, why the step is
// done this way, the evidence, and the prompt. w (Tab in a type gate) shows everything in full.
// confirm = y/N (No is the default: Enter declines); type = type the table name; choices = 1..n.
import type React from 'react';
import { useReducer } from 'react';
import { Box, Text } from 'ink';
import { expectedText, type GateAnswer, type GateRequest } from '../../../engine/gates.js';
import type { PlannedStepDetail } from '../../../engine/events.js';
import { useUiShallow } from '../../context.js';
import { Rule } from '../../components/rule.js';
import { gateReducer, initialGateUi, type GateUiState } from './gate-reducer.js';
import { useGateInput } from './use-gate-input.js';
import { allGateText, fitGateText, gateMustHeight, gateText, gateTextHeight, type GateLine } from './gate-lines.js';

const CONFIRM_HINT = 'y approves · n/Enter declines';

/** "1) retry   2) abort   n / Enter: decline (default)", wrapped between items. */
function choiceLines(req: GateRequest, width: number): string[] {
  const items = [...(req.choices ?? []).map((c, i) => `${i + 1}) ${c}`), 'n / Enter: decline (default)'];
  const lines: string[] = [];
  for (const item of items) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 3 + item.length <= width) lines[lines.length - 1] = `${last}   ${item}`;
    else lines.push(item);
  }
  return lines;
}

/** Lines the prompt itself takes at this width. */
function promptHeight(req: GateRequest, width: number): number {
  if (req.level === 'type') return 2;
  if (req.choices?.length) return choiceLines(req, width).length;
  return 1;
}

/** Lines the gate wants at this width (the layout reserves what it can). */
export function gateHeight(req: GateRequest, detail: PlannedStepDetail | undefined, width: number): number {
  return 1 + gateTextHeight(req, detail, width) + promptHeight(req, width);
}

/** Lines the gate cannot do without: the head, failing evidence, a line of why, the prompt. */
export function gateMinHeight(req: GateRequest, detail: PlannedStepDetail | undefined, width: number): number {
  return 1 + gateMustHeight(req, detail, width) + promptHeight(req, width);
}

function expandKey(req: GateRequest): string {
  return req.level === 'type' ? 'Tab' : 'w';
}

/** The text rows of the pane, collapsed or expanded (scrolled), with a hint row when needed. */
export function gateBody(
  req: GateRequest,
  detail: PlannedStepDetail | undefined,
  width: number,
  rows: number,
  ui: GateUiState,
): GateLine[] {
  const key = expandKey(req);
  if (!ui.expanded) return fitGateText(gateText(req, detail, width, false), rows, width, key).lines;
  const all = allGateText(gateText(req, detail, width, true));
  const room = Math.max(1, rows - 1);
  const top = Math.min(ui.scroll ?? 0, Math.max(0, all.length - room));
  const shown = all.slice(top, top + room);
  const where = all.length > room ? `lines ${top + 1}-${top + shown.length} of ${all.length} · ↑/↓ scroll · ` : '';
  return [...shown, { text: `${where}${key}: back`, dim: true }];
}

function Line(props: { line: GateLine }): React.JSX.Element {
  const l = props.line;
  return (
    <Text wrap="truncate" color={l.color} bold={l.bold} dimColor={l.dim}>
      {l.mark ? <Text color={l.mark.color}>{l.mark.mark} </Text> : null}
      {l.label !== undefined && !l.mark ? <Text dimColor>{(l.label ?? '').padEnd(5)} </Text> : null}
      {l.text}
    </Text>
  );
}

function Prompt(props: { req: GateRequest; state: GateUiState; width: number; interactive: boolean }): React.JSX.Element {
  const { req, state } = props;
  if (!props.interactive) return <Text color="yellow">no keyboard here (stdin is not a terminal)</Text>;
  if (req.level === 'type') {
    return (
      <>
        <Text wrap="truncate">
          <Text bold color="yellow">
            Type {expectedText(req)} to approve
          </Text>{' '}
          (Esc declines): <Text bold>{state.typed}</Text>
          <Text inverse> </Text>
        </Text>
        <Text wrap="truncate" color="red">
          {state.error ?? ' '}
        </Text>
      </>
    );
  }
  if (req.choices?.length) {
    return (
      <>
        {choiceLines(req, props.width).map((l, i) => (
          <Text key={`c${i}`} bold color="yellow" wrap="truncate">
            {l}
          </Text>
        ))}
      </>
    );
  }
  return (
    <Text wrap="truncate">
      <Text bold color="yellow">
        Approve? [y/N]
      </Text>{' '}
      {CONFIRM_HINT}
    </Text>
  );
}

export interface GatePromptProps {
  req: GateRequest;
  width: number;
  height: number;
  decide(id: string, answer: GateAnswer): void;
  interactive: boolean;
  /** False while an overlay (help) owns the keyboard. */
  focused: boolean;
  queued: number;
  /** False where Esc means "back" around the gate (the fleet view): then only n or Enter declines. */
  escapeDeclines?: boolean;
}

/** A step's gate in a run screen: its plan detail (the why, the locks) comes from the run's store. */
export function GatePrompt(props: GatePromptProps): React.JSX.Element {
  const detail = useUiShallow((s) => ({ d: s.run.steps[props.req.stepId]?.detail })).d;
  return <GatePane {...props} detail={detail} />;
}

/** The gate pane itself, for a gate with no run store behind it (the fleet's gate between waves). */
export function GatePane(props: GatePromptProps & { detail: PlannedStepDetail | undefined }): React.JSX.Element {
  const { req, width: w, detail } = props;
  const [state, dispatch] = useReducer(gateReducer, initialGateUi);
  useGateInput({
    req,
    state,
    dispatch,
    decide: props.decide,
    active: props.interactive && props.focused,
    escapeDeclines: props.escapeDeclines ?? true,
  });
  const rows = Math.max(1, props.height - 1 - (props.interactive ? promptHeight(req, w) : 1));
  const body = gateBody(req, detail, w, rows, state);
  return (
    <Box flexDirection="column" width={w} height={props.height} overflow="hidden">
      <Rule
        title={`GATE · ${req.level}`}
        extra={`${req.stepId}${props.queued > 1 ? ` · ${props.queued - 1} more waiting` : ''}`}
        width={w}
        color="yellow"
      />
      {body.map((l, i) => (
        <Line key={i} line={l} />
      ))}
      <Prompt req={req} state={state} width={w} interactive={props.interactive} />
    </Box>
  );
}
