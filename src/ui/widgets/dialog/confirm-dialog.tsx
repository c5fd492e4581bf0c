// A yes/no question for abort and quit. No is the default (Enter and Esc answer No).
import type React from 'react';
import { Box, Text, useInput } from 'ink';
import { matchAction } from '../../keymap.js';
import { Rule } from '../../components/rule.js';

export function useConfirmInput(opts: { onYes(): void; onNo(): void; active: boolean }): void {
  useInput(
    (input, key) => {
      const a = matchAction('dialog', input, key);
      if (a === 'dialog.yes') opts.onYes();
      else if (a === 'dialog.no') opts.onNo();
    },
    { isActive: opts.active },
  );
}

export function ConfirmDialog(props: {
  title: string;
  question: string;
  explain: string;
  width: number;
  onYes(): void;
  onNo(): void;
  active: boolean;
}): React.JSX.Element {
  useConfirmInput(props);
  return (
    <Box flexDirection="column" width={props.width} height={3}>
      <Rule title={props.title} width={props.width} color="yellow" />
      <Text wrap="truncate">
        <Text bold color="yellow">
          {props.question} [y/N]
        </Text>
      </Text>
      <Text dimColor wrap="truncate">
        {props.explain}
      </Text>
    </Box>
  );
}
