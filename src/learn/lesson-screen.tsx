// The lesson screen: what is happening and why (the script), the Locks panel (the queue behind
// the DDL), the application's latency (measured by pgrunbook), the runbook's last lines, and the
// drill question or the summary. The start screen lists the lessons with progress and scores.
import type React from 'react';
import { useState } from 'react';
import { Box, Text, useInput, useStdin } from 'ink';
import { useStore } from 'zustand';
import { useIntents, useUi, useUiShallow } from '../ui/context.js';
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
  /** A lesson picked before the session was ready to take it (PostgreSQL still starting). */
  pending?: string;
}

const PHASE_LABEL: Record<LearnState['phase'], string> = {
  menu: 'lessons',
  starting: 'setting up',
  naive: '1/2 the naive way, live',
  reset: 'putting the table back',
  safe: '2/2 the safe way (runbook)',
  summary: 'summary',
};

const PHASE_COLOR: Partial<Record<LearnState['phase'], string>> = { naive: 'red', safe: 'green' };

function StartScreen({ s, width, selected }: { s: LearnState; width: number; selected: number }): React.JSX.Element {
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>pgrunbook learn · lessons (↑↓ choose · enter start · q quit)</Text>
      {s.lessons.map((l, i) => {
        const p = s.progress[l.id];
        const score = p
          ? `${p.passed ? 'passed' : 'not passed'} · ${p.runs} run${p.runs > 1 ? 's' : ''}${p.drillMax ? ` · drill ${p.drillScore}/${p.drillMax}` : ''}`
          : 'not started';
        // The title gives way at narrow widths, never the score.
        return (
          <Box key={l.id}>
            <Box flexShrink={1}>
              <Text inverse={i === selected} wrap="truncate">{`${i + 1}. ${l.title}`}</Text>
            </Box>
            <Box flexShrink={0}>
              <Text inverse={i === selected}>{` · ${score}`}</Text>
            </Box>
          </Box>
        );
      })}
      {s.status ? (
        <Text dimColor wrap="truncate">
          {s.status}
        </Text>
      ) : null}
    </Box>
  );
}

function RunbookTail({ width }: { width: number }): React.JSX.Element {
  // A new array each call: through the shallow selector, or the screen re-renders without end.
  const log = useUiShallow((s) => s.run.log.slice(-3));
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
  const scriptLines = Math.max(2, Math.min(6, rows - 20));
  const cap = s.phase === 'naive' ? ` · cap ${formatMs(s.capMs)}` : '';
  // Title and phase on their own lines: together they did not fit 80 columns and got cut.
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="wrap">{`pgrunbook learn · ${s.lessonTitle ?? ''}`}</Text>
      <Text bold color={PHASE_COLOR[s.phase]} wrap="wrap">{`${PHASE_LABEL[s.phase]}${cap}`}</Text>
      <Box height={scriptLines} overflow="hidden">
        <Text wrap="wrap">{s.script}</Text>
      </Box>
      {sample ? (
        <LocksPanel sample={sample} width={width} height={6} lockTimeouts={lockTimeouts} />
      ) : (
        <Text dimColor>Locks · waiting for the monitor</Text>
      )}
      <LatencyPanel live={s.live} counter={s.counter} barMs={s.barMs} width={width} />
      {s.standby ? <Text wrap="truncate">{s.standby}</Text> : null}
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
        <Text key={i} wrap="wrap" color={i === 0 ? 'red' : i === 1 ? 'green' : undefined}>
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
        // Before the session listens, a pick is kept rather than lost (quitting is always heard).
        const pick = answers.pick ?? ((id: string | undefined) => void (answers.pending = id));
        if (input === 'q') return answers.pick ? answers.pick(undefined) : intents.quit();
        if (s.phase === 'summary') return key.return ? pick('') : undefined;
        if (key.upArrow || input === 'k') setSelected((i) => Math.max(0, i - 1));
        if (key.downArrow || input === 'j') setSelected((i) => Math.min(s.lessons.length - 1, i + 1));
        const n = Number(input);
        if (key.return || (n >= 1 && n <= s.lessons.length)) pick(s.lessons[key.return ? selected : n - 1]?.id);
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
