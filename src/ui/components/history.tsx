// Log history through <Static>: each line is printed once above the live region and then belongs
// to the terminal's scrollback. Static wants an append-only array; the store keeps a capped log,
// so every few hundred lines a fresh <Static> (new key) starts from the last printed line.
import type React from 'react';
import { useEffect, useState } from 'react';
import { Static } from 'ink';
import { useUi } from '../context.js';
import { LogLineView } from './log-tail.js';

const GENERATION = 200;

export function History(): React.JSX.Element {
  const log = useUi((s) => s.run.log);
  const [gen, setGen] = useState({ key: 0, base: 0 });
  const items = log.filter((l) => l.seq > gen.base);
  useEffect(() => {
    if (items.length > GENERATION) setGen((g) => ({ key: g.key + 1, base: items[items.length - 1]!.seq }));
  }, [items.length]);
  return (
    <Static key={gen.key} items={items}>
      {(l) => <LogLineView key={l.seq} line={l} />}
    </Static>
  );
}
