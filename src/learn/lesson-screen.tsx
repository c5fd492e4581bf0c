// The lesson screen: what is happening and why (the script), the Locks panel (the queue behind
// the DDL), the application's latency (measured by pgrunbook), the runbook's last lines, and the
// drill question or the summary. The start screen lists the lessons with progress and scores.
import type React from 'react';
import { useState } from 'react';
import { Box, Text, useInput, useStdin } from 'ink';
import { useStore } from 'zustand';
import { useIntents, useUi } from '../ui/context.js';
import { LocksPanel } from '../ui/panels/locks-panel.js';
import { useTerminalSize } from '../ui/use-terminal-size.js';
import { formatMs } from '../util/units.js';
import { LatencyPanel } from './latency-panel.js';
import type { LearnState, LearnStore } from './learn-store.js';

export interface ScreenAnswers {
  /** The drill's answer (a choice's key). */
  resolve?: (key: string) => void;
  /** The lesson picked on the start screen; '' = back to the list, undefined = quit. */
  pick?: (id: string | undefined) => void;
}

const PHASE_LABEL: Record<LearnState['phase'], string> = {
  menu: 'lessons',
  starting: 'setting up',
  naive: '1/2 the naive way, live',
  reset: 'putting the table back',
  safe: '2/2 the safe way (runbook)',
  summary: 'summary',
};

function StartScreen({ s, width, selected }: { s: LearnState; width: number; selected: number }): React.JSX.Element {
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>pgrunbook learn · lessons (↑↓ choose · enter start · q quit)</Text>
      {s.lessons.map((l, i) => {
        const p = s.progress[l.id];
        const score = p
          ? `${p.passed ? 'passed' : 'not passed'} · ${p.runs} run${p.runs > 1 ? 's' : ''}${p.drillMax ? ` · drill ${p.drillScore}/${p.drillMax}` : ''}`
          : 'not started';
        return (
          <Text key={l.id} inverse={i === selected} wrap="truncate">
            {`${i + 1}. ${l.title} · ${score}`}
          </Text>
        );
      })}
    </Box>
  );
}

function RunbookTail({ width }: { width: number }): React.JSX.Element {
  const log = useUi((s) => s.run.log.slice(-3));
  const gate = useUi((s) => s.gates[0]);
  return (
    <Box flexDirection="column" width={width} height={4} overflow="hidden">
      <Text bold>Runbook</Text>
      {gate ? <Text color="yellow" wrap="truncate">{`GATE ${gate.title}: y approve · n reject`}</Text> : null}
      {log.map((l) => (
        <Text key={l.seq} wrap="truncate" dimColor>
          {l.text}
        </Text>
      ))}
    </Box>
  );
}

function LessonBody({ s, width, rows }: { s: LearnState; width: number; rows: number }): React.JSX.Element {
  const sample = useUi((u) => u.sample);
  const lockTimeouts = useUi((u) => u.run.lockTimeouts);
  const scriptLines = Math.max(2, Math.min(6, rows - 19));
  const cap = s.phase === 'naive' ? ` · cap ${formatMs(s.capMs)}` : '';
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">{`pgrunbook learn · ${s.lessonTitle ?? ''} · ${PHASE_LABEL[s.phase]}${cap}`}</Text>
      <Box height={scriptLines} overflow="hidden">
        <Text wrap="wrap">{s.script}</Text>
      </Box>
      {sample ? (
        <LocksPanel sample={sample} width={width} height={6} lockTimeouts={lockTimeouts} />
      ) : (
        <Text dimColor>Locks · waiting for the monitor</Text>
      )}
      <LatencyPanel live={s.live} counter={s.counter} barMs={s.barMs} width={width} />
      {s.phase === 'summary' ? null : <RunbookTail width={width} />}
      {s.question ? (
        <Box flexDirection="column" borderStyle="single" borderColor="yellow" width={width}>
          <Text wrap="wrap">{`DRILL · ${s.question.text}`}</Text>
          {s.question.choices.map((c) => (
            <Text key={c.key} wrap="truncate">{`${c.key}) ${c.label}`}</Text>
          ))}
        </Box>
      ) : null}
      {s.summary.map((l, i) => (
        <Text key={i} wrap="truncate" color={i === 0 ? 'red' : i === 1 ? 'green' : undefined}>
          {l}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {s.phase === 'summary' ? 'enter: back to the lessons · q quit' : (s.status ?? 'q quits (PostgreSQL stops with it)')}
      </Text>
    </Box>
  );
}

export function LearnScreen({ store, answers }: { store: LearnStore; answers: ScreenAnswers }): React.JSX.Element {
  const s = useStore(store);
  const intents = useIntents();
  const gate = useUi((u) => u.gates[0]);
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize();
  const [selected, setSelected] = useState(0);
  useInput(
    (input, key) => {
      if (s.phase === 'menu' || s.phase === 'summary') {
        if (input === 'q') return answers.pick?.(undefined);
        if (s.phase === 'summary') return key.return ? answers.pick?.('') : undefined;
        if (key.upArrow || input === 'k') setSelected((i) => Math.max(0, i - 1));
        if (key.downArrow || input === 'j') setSelected((i) => Math.min(s.lessons.length - 1, i + 1));
        const n = Number(input);
        if (key.return || (n >= 1 && n <= s.lessons.length)) answers.pick?.(s.lessons[key.return ? selected : n - 1]?.id);
        return;
      }
      if (s.question?.choices.some((c) => c.key === input)) return answers.resolve?.(input);
      if (gate && (input === 'y' || input === 'n')) return intents.decideGate(gate.id, { approved: input === 'y' });
      if (input === 'q' || (key.ctrl && input === 'c')) intents.quit();
    },
    { isActive: isRawModeSupported === true },
  );
  const width = Math.max(20, columns - 1);
  return s.phase === 'menu' ? <StartScreen s={s} width={width} selected={selected} /> : <LessonBody s={s} width={width} rows={rows} />;
}
