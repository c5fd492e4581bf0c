// The last few log lines (the full log is in the pager, `l`, and in the scrollback above).
import type React from 'react';
import { Box, Text } from 'ink';
import { useUi } from '../context.js';
import type { LogLine } from '../store.js';
import { Rule } from './rule.js';

export const LEVEL_COLOR: Record<LogLine['level'], string | undefined> = { info: undefined, warn: 'yellow', error: 'red' };

export function clockOf(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? '--:--:--' : d.toTimeString().slice(0, 8);
}

export function LogLineView(props: { line: LogLine }): React.JSX.Element {
  const l = props.line;
  return (
    <Text wrap="truncate" color={LEVEL_COLOR[l.level]}>
      <Text dimColor>{clockOf(l.at)} </Text>
      {l.text}
    </Text>
  );
}

export function LogTail(props: { width: number; height: number }): React.JSX.Element | null {
  const log = useUi((s) => s.run.log);
  const notice = useUi((s) => s.notice);
  if (props.height <= 0) return null;
  const rows = Math.max(0, props.height - 1);
  const lines = rows > 0 ? log.slice(-rows) : [];
  return (
    <Box flexDirection="column" width={props.width} height={props.height} overflow="hidden">
      <Rule title="Log" extra={notice} width={props.width} color={notice ? 'cyan' : undefined} />
      {lines.map((l) => (
        <LogLineView key={l.seq} line={l} />
      ))}
    </Box>
  );
}
