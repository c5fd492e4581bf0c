// Maps an offset inside a YAML scalar's value back to an offset in the runbook source, through
// block scalars (`|`, `>`), quoted strings (escapes, folding) and multi-line plain scalars. Used to
// point SQL syntax errors and variable references at the runbook line:col that holds them.
import type { Scalar } from 'yaml';

export type ValueToSource = (valueOffset: number) => number;

export function scalarSourceMap(source: string, node: Scalar): ValueToSource {
  const value = typeof node.value === 'string' ? node.value : String(node.value);
  const [start, valueEnd] = node.range ?? [0, 0, 0];
  let i = start;
  const type = node.type;
  if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
    // Content starts on the line after the header (`|-  # comment`).
    const nl = source.indexOf('\n', start);
    i = nl < 0 ? valueEnd : nl + 1;
  } else if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') {
    i = start + 1;
  }
  const map = new Array<number>(value.length + 1);
  let j = 0;
  while (j < value.length && i < valueEnd) {
    const c = source[i]!;
    if (type === 'QUOTE_DOUBLE' && c === '\\') {
      const next = source[i + 1];
      if (next === '\n' || next === '\r') {
        // Escaped line break: contributes nothing to the value.
        i += 2;
        continue;
      }
      const len = next === 'x' ? 4 : next === 'u' ? 6 : next === 'U' ? 10 : 2;
      map[j++] = i;
      i += len;
      continue;
    }
    if (type === 'QUOTE_SINGLE' && c === "'" && source[i + 1] === "'") {
      map[j++] = i;
      i += 2;
      continue;
    }
    const v = value[j]!;
    if (c === v) {
      map[j++] = i++;
      continue;
    }
    // A folded line break becomes a space (or a newline for blank lines).
    if ((c === '\n' || c === '\r') && (v === ' ' || v === '\n')) {
      map[j++] = i++;
      continue;
    }
    i++; // indentation, quotes, trailing blanks, CR
  }
  const last = j > 0 ? map[j - 1]! : i;
  for (; j <= value.length; j++) map[j] = Math.min(last + 1, Math.max(valueEnd - 1, start));
  return (o: number) => map[Math.max(0, Math.min(o, value.length))]!;
}
