// The application's side: requests per second, how many wait right now and for how long, the
// worst latency of each of the last seconds as a bar line, and the phase's counter (requests
// delayed over the lesson's bar, the worst wait). All measured by pgrunbook's own traffic.
import type React from 'react';
import { Box, Text } from 'ink';
import { fmtInt } from '../ui/format.js';
import { formatMs } from '../util/units.js';
import type { PhaseFigures, LiveFigures } from './latency-recorder.js';

const BARS = '▁▂▃▄▅▆▇█';

/** One character per second: log-scaled from 1 ms to 10 s, so 2 ms and 7 s both show. */
export function sparkline(values: number[]): string {
  return values
    .map((ms) => {
      if (ms <= 0) return ' ';
      const level = Math.log10(Math.max(1, ms)) / 4;
      return BARS[Math.min(BARS.length - 1, Math.max(0, Math.round(level * (BARS.length - 1))))]!;
    })
    .join('');
}

export interface LatencyPanelProps {
  live?: LiveFigures;
  counter?: PhaseFigures;
  barMs: number;
  width: number;
}

export function LatencyPanel({ live, counter, barMs, width }: LatencyPanelProps): React.JSX.Element {
  const waiting = live?.waitingNow ?? 0;
  const head = live
    ? `${live.perSecond} req/s · ${live.inFlight} in flight · ${waiting} waiting over ${formatMs(barMs)} · oldest ${formatMs(live.oldestInFlightMs)}`
    : 'waiting for the first requests';
  const spark = sparkline((live?.worstPerSecond ?? []).slice(-Math.max(10, width - 16)));
  const count = counter
    ? `delayed over ${formatMs(barMs)}: ${fmtInt(counter.overBar)} of ${fmtInt(counter.requests + counter.failed)} · worst wait ${formatMs(counter.worstMs)} · p99 ${formatMs(counter.p99Ms)}`
    : '';
  return (
    <Box flexDirection="column" width={width} height={4} overflow="hidden">
      <Text bold color={waiting ? 'yellow' : undefined} wrap="truncate">
        {`App latency · ${head}`}
      </Text>
      <Text wrap="truncate">{`worst/s 1ms..10s ${spark}`}</Text>
      <Text color={counter?.overBar ? 'red' : 'green'} wrap="truncate">
        {count}
      </Text>
    </Box>
  );
}
