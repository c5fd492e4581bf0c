// The plan in the terminal: a header (server, deploy estimate), one line per table, one line per
// step, and the selected step's statements, estimate and warnings. PlanView is a pure view (the
// run UI can embed it before the deploy gate); PlanApp adds ↑/↓ selection and q when the terminal
// supports raw mode.
import type React from 'react';
import { useState } from 'react';
import { Box, Text, useApp, useInput, useStdin } from 'ink';
import type { Plan, PlanStep, PlanWarning } from '../analyze/plan/plan-types.js';
import { estimateText, fmtDuration } from '../analyze/plan/estimate.js';
import { formatBytes } from '../util/units.js';
import { strongestOf } from '../analyze/locks.js';
import { redact } from '../util/secrets.js';

export interface PlanViewProps {
  plan: Plan;
  /** Index into plan.steps of the step whose details are shown. */
  selected?: number;
  width?: number;
  /** Upper bound for the details block (keeps the frame shorter than the terminal). */
  maxDetailLines?: number;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, Math.max(1, n - 1))}…` : s);
const one = (s: string) => redact(s.replace(/\s+/g, ' ').trim());

function WarningLines({ w, width }: { w: PlanWarning; width: number }): React.ReactElement {
  const color = w.severity === 'error' ? 'red' : w.severity === 'warning' ? 'yellow' : 'gray';
  const mark = w.severity === 'error' ? '✗' : w.severity === 'warning' ? '!' : 'i';
  return (
    <Box flexDirection="column">
      <Text color={color} wrap="wrap">
        {`  ${mark} ${w.source === 'squawk' ? 'squawk: ' : ''}${one(w.message)}`}
      </Text>
      {w.safe ? <Text dimColor wrap="wrap">{`    safe: ${cut(one(w.safe), width * 2)}`}</Text> : null}
    </Box>
  );
}

function stepLine(s: PlanStep, width: number): string {
  const strongest = strongestOf(s.locks.filter((l) => (l as { relkind?: string }).relkind !== 'index'));
  const lock = strongest ? `${strongest.replace(/Lock$/, '')}` : 'no lock';
  const est = s.estimate ? estimateText(s.estimate) : '';
  const text = `${s.phase.padEnd(8)} ${cut(s.id, 22).padEnd(22)} ${s.gate.padEnd(7)} ${(s.reversible ? 'reversible' : 'IRREVERSIBLE').padEnd(12)} ${cut(lock, 20).padEnd(20)} ${est}`;
  return cut(text, width - 3);
}

function StepDetails({ step, width, maxLines }: { step: PlanStep; width: number; maxLines: number }): React.ReactElement {
  const lines: React.ReactElement[] = [];
  lines.push(
    <Text key="title" bold wrap="truncate-end">
      {`── ${step.id}: ${one(step.title)}`}
    </Text>,
  );
  if (step.error) lines.push(<Text key="err" color="red" wrap="wrap">{`  could not plan: ${one(step.error)}`}</Text>);
  step.statements.forEach((st, i) => {
    const a = st.analysis;
    lines.push(<Text key={`s${i}`} wrap="truncate-end">{`  ${cut(one(st.sql), width - 4)}`}</Text>);
    if (a) {
      const locks =
        a.locks
          .filter((l) => l.relkind !== 'index')
          .map((l) => `${l.relation} ${l.mode}`)
          .join(', ') || 'no table locks';
      lines.push(
        <Text key={`a${i}`} dimColor wrap="truncate-end">
          {`    ${locks} · rewrite ${a.rewrite ? 'YES' : 'no'} · scan ${a.tableScan ? 'YES' : 'no'}${st.transactional ? '' : ' · outside a transaction'}${st.estimate ? ` · ${estimateText(st.estimate)}` : ''}`}
        </Text>,
      );
    } else if (st.notAnalyzed) lines.push(<Text key={`n${i}`} dimColor>{`    (${st.notAnalyzed})`}</Text>);
  });
  if (step.estimate)
    lines.push(
      <Text key="est" wrap="wrap">{`  estimate ${estimateText(step.estimate)}: ${cut(one(step.estimate.basis), width * 2)}`}</Text>,
    );
  step.warnings.forEach((w, i) => lines.push(<WarningLines key={`w${i}`} w={w} width={width} />));
  const shown = lines.slice(0, maxLines);
  return (
    <Box flexDirection="column">
      {shown}
      {lines.length > shown.length ? (
        <Text dimColor>{`  … ${lines.length - shown.length} more (plan --plain or --report for everything)`}</Text>
      ) : null}
    </Box>
  );
}

export function PlanView({ plan, selected = 0, width = 100, maxDetailLines = 14 }: PlanViewProps): React.ReactElement {
  const srv = plan.server;
  const warnings = [...plan.warnings, ...plan.steps.flatMap((s) => s.warnings)].filter((w) => w.severity !== 'info');
  const step = plan.steps[Math.min(Math.max(0, selected), plan.steps.length - 1)];
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate-end">
        {`Plan: ${one(plan.runbook.name)} — PostgreSQL ${srv.version}${plan.deployEstimate ? ` · deploy ${estimateText(plan.deployEstimate)}` : ''} · ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`}
      </Text>
      <Text wrap="truncate-end" color={srv.longTransactions.length || srv.inRecovery ? 'yellow' : undefined}>
        {`Server  ${srv.inRecovery ? 'STANDBY (read only) · ' : ''}standbys ${srv.standbys.length} · slots ${srv.slots.length} · long transactions ${srv.longTransactions.length}${srv.longTransactions[0] ? ` (oldest ${fmtDuration(srv.longTransactions[0].xactSeconds)})` : ''} · TimeZone ${srv.timeZone}`}
      </Text>
      {plan.tables.map((t) => (
        <Text key={t.name} wrap="truncate-end">
          {`Table   ${t.name} ${formatBytes(t.totalBytes)} · ~${t.estimatedRows === null ? '?' : Math.round(t.estimatedRows).toLocaleString('en-US')} rows · ${t.avgRowWidth ?? '?'} B/row · ${t.indexes.length} idx${t.indexes.some((i) => !i.valid) ? ' (INVALID!)' : ''} · FK in ${t.foreignKeysIn.length} out ${t.foreignKeysOut.length} · ${t.triggers.length} trg · views ${t.dependentViews.length}`}
        </Text>
      ))}
      {plan.warnings.map((w, i) => (
        <WarningLines key={`sw${i}`} w={w} width={width} />
      ))}
      <Text bold>Steps</Text>
      {plan.steps.map((s, i) => (
        <Text
          key={`${s.phase}/${s.id}`}
          color={s.error ? 'red' : s.warnings.some((w) => w.severity === 'warning') ? 'yellow' : undefined}
          inverse={i === selected}
        >
          {`${i === selected ? '›' : ' '} ${stepLine(s, width)}`}
        </Text>
      ))}
      {step ? <StepDetails step={step} width={width} maxLines={maxDetailLines} /> : null}
    </Box>
  );
}

export interface PlanAppProps {
  plan: Plan;
  width?: number;
  height?: number;
  onQuit?(): void;
}

/** Interactive wrapper: ↑/↓ (or k/j) select a step, q or Esc quits. */
export function PlanApp({ plan, width = 100, height = 40, onQuit }: PlanAppProps): React.ReactElement {
  const { isRawModeSupported } = useStdin();
  const { exit } = useApp();
  const [selected, setSelected] = useState(0);
  useInput(
    (input, key) => {
      if (key.upArrow || input === 'k') setSelected((s) => Math.max(0, s - 1));
      else if (key.downArrow || input === 'j') setSelected((s) => Math.min(plan.steps.length - 1, s + 1));
      else if (input === 'q' || key.escape || (key.ctrl && input === 'c')) {
        onQuit?.();
        exit();
      }
    },
    { isActive: isRawModeSupported === true },
  );
  const fixed = 4 + plan.tables.length + plan.warnings.length * 2 + plan.steps.length;
  return (
    <Box flexDirection="column">
      <PlanView plan={plan} selected={selected} width={width} maxDetailLines={Math.max(4, height - fixed - 2)} />
      <Text dimColor>{isRawModeSupported ? '↑/↓ select a step · q quit' : ''}</Text>
    </Box>
  );
}
