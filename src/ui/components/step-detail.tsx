// The focus step: what it is, why it is done this way, the SQL it runs and the locks it takes,
// then what is happening now (last statement, retry, error, evidence).
import type React from 'react';
import { Box, Text } from 'ink';
import { useUiShallow } from '../context.js';
import { lockSqlName } from '../../pg/lock-modes.js';
import { clip, wrapLines } from '../format.js';
import { formatMs, oneLine } from '../../util/units.js';
import { focusStep, type StepView } from '../store.js';
import { Rule } from './rule.js';

export interface DetailLine {
  label?: string;
  text: string;
  color?: string;
  dim?: boolean;
}

/** The detail pane as plain lines, budgeted to `height` (pure: easy to test and to keep short). */
export function detailLines(s: StepView, width: number, height: number): DetailLine[] {
  const d = s.detail;
  const out: DetailLine[] = [];
  const w = Math.max(10, width);
  const tail: DetailLine[] = [];
  if (s.status === 'failed' && s.error) {
    tail.push({ label: 'error', text: oneLine(`${s.error}${s.sqlstate ? ` [${s.sqlstate}]` : ''}`, w - 7), color: 'red' });
    if (s.hint) tail.push({ label: 'hint', text: oneLine(s.hint, w - 6), color: 'yellow' });
  } else if (s.retry && s.status === 'running') {
    tail.push({
      label: 'retry',
      text: oneLine(`${s.retry.attempt}/${s.retry.of} in ${formatMs(s.retry.delayMs)}: ${s.retry.reason}`, w - 7),
      color: 'yellow',
    });
  } else if (s.lastSql) {
    tail.push({
      label: 'last',
      text: oneLine(`${s.lastSql.ok ? 'ok' : 'failed'} ${formatMs(s.lastSql.durationMs)}: ${s.lastSql.sql}`, w - 6),
      color: s.lastSql.ok ? undefined : 'red',
    });
  } else if (s.evidence?.length) {
    tail.push({ label: 'evidence', text: oneLine(s.evidence.map((e) => `${e.label}: ${String(e.value)}`).join(' · '), w - 10) });
  }
  const budget = Math.max(0, height - tail.length);
  if (d.why && out.length < budget) {
    const lines = wrapLines(d.why, w - 5, Math.max(1, Math.min(3, budget - out.length - 2)));
    lines.forEach((t, i) => out.push({ label: i === 0 ? 'why' : '   ', text: t }));
  }
  if (d.locks?.length && out.length < budget) {
    const locks = d.locks.map((l) => `${lockSqlName(l.mode)} on ${l.relation}`).join(', ');
    out.push({
      label: 'locks',
      text: oneLine(locks, w - 7),
      color: d.locks.some((l) => l.mode === 'AccessExclusiveLock') ? 'yellow' : undefined,
    });
  }
  const sql = d.statements ?? [];
  if (sql.length && out.length < budget) {
    const room = Math.max(1, Math.min(4, budget - out.length));
    const lines = sql.flatMap((q) =>
      q
        .split('\n')
        .map((l) => l.trimEnd())
        .filter((l) => l.trim().length > 0),
    );
    const shown = lines.slice(0, room);
    shown.forEach((t, i) => out.push({ label: i === 0 ? 'sql' : '   ', text: clip(t, w - 5), dim: true }));
    if (lines.length > room)
      out[out.length - 1] = { ...out[out.length - 1]!, text: clip(`${out[out.length - 1]!.text} …(+${lines.length - room})`, w - 5) };
  }
  if (d.notes?.length && out.length < budget) out.push({ label: 'note', text: oneLine(d.notes.join(' · '), w - 6), dim: true });
  return [...out.slice(0, budget), ...tail];
}

export function StepDetail(props: { width: number; height: number }): React.JSX.Element {
  const step = useUiShallow((s) => ({ step: focusStep(s.run, s.gates[0]) })).step;
  const w = props.width;
  if (!step) {
    return (
      <Box flexDirection="column" width={w} height={props.height}>
        <Rule title="Step" width={w} />
        <Text dimColor>waiting for the run to start…</Text>
      </Box>
    );
  }
  const flags = [step.kind, step.gate !== 'none' ? `gate ${step.gate}` : '', step.reversible ? 'reversible' : 'irreversible']
    .filter(Boolean)
    .join(' · ');
  const lines = detailLines(step, w, props.height - 2);
  return (
    <Box flexDirection="column" width={w} height={props.height} overflow="hidden">
      <Rule title={step.id} extra={flags} width={w} />
      {step.title !== step.id ? (
        <Text bold wrap="truncate">
          {clip(step.title, w)}
        </Text>
      ) : (
        <Text dimColor wrap="truncate">
          {step.status === 'running' ? 'running' : step.status}
        </Text>
      )}
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate" color={l.color} dimColor={l.dim}>
          {l.label ? <Text dimColor>{l.label.padEnd(5)} </Text> : null}
          {l.text}
        </Text>
      ))}
    </Box>
  );
}
