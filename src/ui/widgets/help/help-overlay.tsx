// `?`: every key, generated from the keymap. Any key closes it. Flows into two columns when one
// does not fit (80×24 included).
import type React from 'react';
import { Box, Text, useInput } from 'ink';
import { helpSections, matchAction } from '../../keymap.js';
import { useUiStore } from '../../context.js';
import { clip } from '../../format.js';
import { Rule } from '../../components/rule.js';

export interface HelpRow {
  kind: 'title' | 'row';
  keys?: string;
  text: string;
}

export function allHelpRows(): HelpRow[] {
  const all: HelpRow[] = [];
  for (const sec of helpSections()) {
    all.push({ kind: 'title', text: sec.title });
    for (const r of sec.rows) all.push({ kind: 'row', keys: r.keys, text: r.help });
  }
  return all;
}

/** Splits the rows into columns of `height`; at most `maxColumns`, the last one marked when cut. */
export function helpColumns(height: number, maxColumns: number): HelpRow[][] {
  const rows = allHelpRows();
  const cols: HelpRow[][] = [];
  for (let i = 0; i < rows.length && cols.length < maxColumns; i += height) cols.push(rows.slice(i, i + height));
  const shown = cols.reduce((n, c) => n + c.length, 0);
  if (shown < rows.length && cols.length > 0) {
    const last = cols[cols.length - 1]!;
    last[last.length - 1] = { kind: 'title', text: '… enlarge the terminal for the rest' };
  }
  return cols;
}

export const HELP_KEY_WIDTH = 11;

export function useHelpInput(active: boolean): void {
  const store = useUiStore();
  useInput(
    (input, key) => {
      if (matchAction('help', input, key) === 'interrupt') return;
      store.getState().setOverlay('none');
    },
    { isActive: active },
  );
}

function Column(props: { rows: HelpRow[]; width: number }): React.JSX.Element {
  return (
    <Box flexDirection="column" width={props.width}>
      {props.rows.map((r, i) =>
        r.kind === 'title' ? (
          <Text key={i} bold wrap="truncate">
            {clip(r.text, props.width - 1)}
          </Text>
        ) : (
          <Text key={i} wrap="truncate">
            {' '}
            <Text bold color="cyan">
              {`${(r.keys ?? '').padEnd(HELP_KEY_WIDTH)} `}
            </Text>
            {clip(r.text, Math.max(8, props.width - HELP_KEY_WIDTH - 3))}
          </Text>
        ),
      )}
    </Box>
  );
}

export function HelpOverlay(props: { width: number; height: number; active: boolean }): React.JSX.Element {
  useHelpInput(props.active);
  const h = Math.max(1, props.height - 1);
  const maxCols = props.width >= 120 ? 3 : props.width >= 70 ? 2 : 1;
  const cols = helpColumns(h, maxCols);
  const colWidth = Math.floor(props.width / Math.max(1, cols.length));
  return (
    <Box flexDirection="column" width={props.width} height={props.height} overflow="hidden">
      <Rule title="Help" extra="keys · any key closes" width={props.width} color="cyan" />
      <Box>
        {cols.map((c, i) => (
          <Column key={i} rows={c} width={colWidth} />
        ))}
      </Box>
    </Box>
  );
}
