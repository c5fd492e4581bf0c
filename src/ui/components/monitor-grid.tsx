// The live monitor panels in a 2×2 grid: Locks | Long queries over Replication | Index build, the
// last cell showing Workload instead while no index is being built and the run watches tables.
// Each cell gets an exact width and height and clips whatever its panel renders.
import type React from 'react';
import { Box, Text } from 'ink';
import type { MonitorSample } from '../../monitor/monitor-types.js';
import { useUi } from '../context.js';
import { colorsEnabled } from '../color.js';
import { shownSample } from '../store.js';
import { IndexBuildPanel } from '../panels/index-build-panel.js';
import { LocksPanel, type LockTimeout } from '../panels/locks-panel.js';
import { LongQueriesPanel } from '../panels/long-queries-panel.js';
import { ReplicationPanel } from '../panels/replication-panel.js';
import { WorkloadPanel } from '../panels/workload-panel.js';
import { Rule } from './rule.js';

export type PanelName = 'Locks' | 'Long queries' | 'Replication' | 'Index build' | 'Workload';

export interface PanelProps {
  sample: MonitorSample;
  width: number;
  height: number;
  color?: boolean;
  lockTimeouts?: LockTimeout[];
}

type PanelComponent = (p: PanelProps) => React.JSX.Element | null;

const PANELS: Record<PanelName, PanelComponent> = {
  Locks: (p) => <LocksPanel {...p} cancelKey="c" />,
  'Long queries': LongQueriesPanel,
  Replication: ReplicationPanel,
  'Index build': IndexBuildPanel,
  Workload: WorkloadPanel,
};

function Cell(props: {
  name: PanelName;
  sample: MonitorSample | undefined;
  width: number;
  height: number;
  monitored: boolean;
  lockTimeouts?: LockTimeout[];
}): React.JSX.Element {
  const P = PANELS[props.name];
  return (
    <Box flexDirection="column" width={props.width} height={props.height} overflow="hidden" paddingRight={1}>
      {props.sample ? (
        <P
          sample={props.sample}
          width={props.width - 1}
          height={props.height}
          color={colorsEnabled()}
          {...(props.lockTimeouts ? { lockTimeouts: props.lockTimeouts } : {})}
        />
      ) : (
        <>
          <Rule title={props.name} width={props.width - 1} />
          <Text dimColor wrap="truncate">
            {props.monitored ? 'waiting for the first sample…' : 'no monitor attached'}
          </Text>
        </>
      )}
    </Box>
  );
}

export function MonitorGrid(props: { width: number; rows: [number, number]; monitored: boolean }): React.JSX.Element | null {
  const sample = useUi(shownSample);
  const lockTimeouts = useUi((s) => s.run.lockTimeouts);
  const [r1, r2] = props.rows;
  if (r1 <= 0) return null;
  const left = Math.ceil(props.width / 2);
  const right = props.width - left;
  return (
    <Box flexDirection="column" width={props.width}>
      <Box height={r1}>
        <Cell name="Locks" sample={sample} width={left} height={r1} monitored={props.monitored} lockTimeouts={lockTimeouts} />
        <Cell name="Long queries" sample={sample} width={right} height={r1} monitored={props.monitored} />
      </Box>
      {r2 > 0 ? (
        <Box height={r2}>
          <Cell name="Replication" sample={sample} width={left} height={r2} monitored={props.monitored} />
          <Cell
            name={sample?.workload && sample.indexBuilds.length === 0 ? 'Workload' : 'Index build'}
            sample={sample}
            width={right}
            height={r2}
            monitored={props.monitored}
          />
        </Box>
      ) : null}
    </Box>
  );
}
