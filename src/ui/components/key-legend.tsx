// The key legend, generated from the keymap (the same table the help overlay comes from).
import type React from 'react';
import { Text } from 'ink';
import { legendItems } from '../keymap.js';

const ITEMS = legendItems();

export function legendText(width: number): string {
  let out = '';
  for (const it of ITEMS) {
    const piece = `${out ? '  ' : ''}${it.keys} ${it.word}`;
    if (out.length + piece.length > width) break;
    out += piece;
  }
  return out;
}

export function KeyLegend(props: { width: number; interactive: boolean; hint?: string }): React.JSX.Element {
  if (!props.interactive) {
    return (
      <Text dimColor wrap="truncate">
        no keyboard here (stdin is not a terminal): watching only
      </Text>
    );
  }
  return (
    <Text dimColor wrap="truncate">
      {props.hint ?? legendText(props.width)}
    </Text>
  );
}
