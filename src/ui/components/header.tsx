// Runbook, phase, run status and the target (user@host:port/db, server version). The target never
// carries a password: Target has none, and the text passes through redact anyway.
import type React from 'react';
import { Box, Text } from 'ink';
import { useUiShallow } from '../context.js';
import { describeTarget } from '../../pg/connection.js';
import { clip } from '../format.js';
import { redact } from '../../util/secrets.js';
import type { RunStatus } from '../store.js';

const STATUS_COLOR: Record<RunStatus, string> = {
  starting: 'yellow',
  running: 'green',
  paused: 'yellow',
  interrupted: 'yellow',
  aborted: 'red',
  completed: 'green',
  failed: 'red',
};

export function Header(props: { width: number; lines: number }): React.JSX.Element {
  const h = useUiShallow((s) => ({
    runbook: s.run.runbook,
    phase: s.run.phase,
    target: s.run.target,
    status: s.run.status,
    runId: s.run.runId,
    frozen: !!s.frozen,
    boot: s.status,
    gate: s.gates.length > 0,
  }));
  const badges = [h.status.toUpperCase(), h.gate ? 'GATE' : '', h.frozen ? 'FROZEN' : ''].filter(Boolean).join(' ');
  const name = h.runbook ?? (h.boot ? `starting · ${h.boot}` : 'starting…');
  const target = h.target
    ? redact(`${describeTarget(h.target)}${h.target.serverVersion ? ` · PostgreSQL ${h.target.serverVersion}` : ''}`)
    : undefined;
  if (props.lines >= 2) {
    const left = clip(`pgrunbook · ${name}`, Math.max(10, props.width - badges.length - 1));
    const second = [h.phase ? `phase ${h.phase}` : undefined, target, h.runId ? `run ${h.runId}` : undefined].filter(Boolean).join(' · ');
    // A host status (e.g. "demo completed: q quits") takes the second line while it lasts.
    const hostStatus = h.runbook && h.boot ? h.boot : undefined;
    return (
      <Box flexDirection="column" width={props.width}>
        <Box width={props.width} justifyContent="space-between">
          <Text bold wrap="truncate">
            {left}
          </Text>
          <Text bold color={STATUS_COLOR[h.status]}>
            {badges}
          </Text>
        </Box>
        {hostStatus ? (
          <Text color="yellow" wrap="truncate">
            {clip(hostStatus, props.width)}
          </Text>
        ) : (
          <Text dimColor wrap="truncate">
            {clip(second || (h.boot ?? ''), props.width)}
          </Text>
        )}
      </Box>
    );
  }
  const one = [`pgrunbook · ${name}`, h.phase, target].filter(Boolean).join(' · ');
  return (
    <Box width={props.width} justifyContent="space-between">
      <Text bold wrap="truncate">
        {clip(one, Math.max(10, props.width - badges.length - 1))}
      </Text>
      <Text bold color={STATUS_COLOR[h.status]}>
        {badges}
      </Text>
    </Box>
  );
}
