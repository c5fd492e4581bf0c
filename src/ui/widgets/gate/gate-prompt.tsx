// The gate view: what approving does, the strongest lock it takes, the evidence, and the prompt.
// confirm = y/N (No is the default: Enter declines); type = type the table name; choices = 1..n.
import type React from 'react';
import { useReducer } from 'react';
import { Box, Text } from 'ink';
import { expectedText, type GateAnswer, type GateRequest } from '../../../engine/gates.js';
import { clip, lockSqlName, wrapLines } from '../../format.js';
import { oneLine } from '../../../util/units.js';
import { Rule } from '../../components/rule.js';
import { gateReducer, initialGateUi } from './gate-reducer.js';
import { useGateInput } from './use-gate-input.js';

export const LOCK_EFFECT: Record<string, string> = {
  AccessExclusiveLock: 'blocks all reads and writes on the table while held',
  ExclusiveLock: 'blocks writes; reads go on',
  ShareRowExclusiveLock: 'blocks writes and other DDL; reads go on',
  ShareLock: 'blocks writes; reads go on',
  ShareUpdateExclusiveLock: 'reads and writes go on; blocks other DDL and VACUUM',
  RowExclusiveLock: 'ordinary row writes; conflicts only with SHARE and stronger',
  RowShareLock: 'conflicts only with EXCLUSIVE and ACCESS EXCLUSIVE',
  AccessShareLock: 'reads only; conflicts only with ACCESS EXCLUSIVE',
};

const MAX_EVIDENCE = 6;

export function gateActionLines(req: GateRequest, width: number): string[] {
  return wrapLines(req.action, Math.max(10, width - 7), 2);
}

/** Lines the prompt needs at this width (the layout reserves them). */
export function gateHeight(req: GateRequest, width: number): number {
  const ev = Math.min(req.evidence.length, MAX_EVIDENCE) + (req.evidence.length > MAX_EVIDENCE ? 1 : 0);
  return 2 + gateActionLines(req, width).length + (req.lockMode ? 1 : 0) + Math.max(ev, 1) + 1 + (req.level === 'type' ? 1 : 0);
}

export function evidenceMark(ok: boolean | undefined): { mark: string; color?: string } {
  return ok === true ? { mark: '✓', color: 'green' } : ok === false ? { mark: '✗', color: 'red' } : { mark: '•' };
}

export function GatePrompt(props: {
  req: GateRequest;
  width: number;
  height: number;
  decide(id: string, answer: GateAnswer): void;
  interactive: boolean;
  /** False while an overlay (help) owns the keyboard. */
  focused: boolean;
  queued: number;
}): React.JSX.Element {
  const { req, width: w } = props;
  const [state, dispatch] = useReducer(gateReducer, initialGateUi);
  useGateInput({ req, state, dispatch, decide: props.decide, active: props.interactive && props.focused });
  const want = expectedText(req);
  const shown = req.evidence.slice(0, MAX_EVIDENCE);
  let prompt: React.JSX.Element;
  if (!props.interactive) {
    prompt = <Text color="yellow">no keyboard here (stdin is not a terminal)</Text>;
  } else if (req.level === 'type') {
    prompt = (
      <>
        <Text wrap="truncate">
          <Text bold color="yellow">
            Type {want} to approve
          </Text>{' '}
          (Esc declines): <Text bold>{state.typed}</Text>
          <Text inverse> </Text>
        </Text>
        <Text wrap="truncate" color="red">
          {state.error ?? ' '}
        </Text>
      </>
    );
  } else if (req.choices?.length) {
    prompt = (
      <Text wrap="truncate">
        <Text bold color="yellow">
          {req.choices.map((c, i) => `${i + 1}) ${c}`).join('   ')}
        </Text>
        {'   '}n / Enter: decline (default)
      </Text>
    );
  } else {
    prompt = (
      <Text wrap="truncate">
        <Text bold color="yellow">
          Approve? [y/N]
        </Text>{' '}
        y approves · n or Enter declines (default No)
      </Text>
    );
  }
  return (
    <Box flexDirection="column" width={w} height={props.height} overflow="hidden">
      <Rule
        title={`GATE · ${req.level}`}
        extra={`${req.stepId}${props.queued > 1 ? ` · ${props.queued - 1} more waiting` : ''}`}
        width={w}
        color="yellow"
      />
      <Text bold wrap="truncate">
        {clip(req.title, w)}
      </Text>
      {gateActionLines(req, w).map((l, i) => (
        <Text key={`a${i}`} wrap="truncate">
          <Text dimColor>{i === 0 ? 'will ' : '     '} </Text>
          {l}
        </Text>
      ))}
      {req.lockMode ? (
        <Text wrap="truncate" color={req.lockMode === 'AccessExclusiveLock' ? 'yellow' : undefined}>
          <Text dimColor>lock </Text> {lockSqlName(req.lockMode)}: {LOCK_EFFECT[req.lockMode] ?? 'see the PostgreSQL lock table'}
        </Text>
      ) : null}
      {shown.length === 0 ? <Text dimColor>no evidence for this gate</Text> : null}
      {shown.map((e, i) => {
        const m = evidenceMark(e.ok);
        return (
          <Text key={`e${i}`} wrap="truncate">
            <Text color={m.color}>{m.mark}</Text> {e.label}: <Text bold>{String(e.value)}</Text>
            {e.detail ? <Text dimColor> {oneLine(e.detail, w)}</Text> : null}
          </Text>
        );
      })}
      {req.evidence.length > MAX_EVIDENCE ? <Text dimColor>… {req.evidence.length - MAX_EVIDENCE} more (see the log)</Text> : null}
      {prompt}
    </Box>
  );
}
