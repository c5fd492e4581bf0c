// A one-line section title: "── Title · extra ─────────". Cheaper than a border (one row, no columns).
import type React from 'react';
import { Text } from 'ink';
import { clip } from '../format.js';

export function Rule(props: { title: string; extra?: string; width: number; color?: string }): React.JSX.Element {
  const head = `── ${props.title}${props.extra ? ` · ${props.extra}` : ''} `;
  const text = clip(head, props.width);
  return (
    <Text wrap="truncate">
      <Text bold color={props.color}>
        {text}
      </Text>
      <Text dimColor>{'─'.repeat(Math.max(0, props.width - text.length))}</Text>
    </Text>
  );
}
