// Where each reference stands in SQL: in code, inside a string, quoted identifier or comment, and
// which dollar-quoted bodies enclose it (the value must not contain their closing tag).
import type { Reference } from './template-references.js';

export type SqlState = 'code' | 'a string literal' | 'an escape string' | 'a quoted identifier' | 'a comment' | 'a block comment';

export interface SqlContext {
  state: SqlState;
  /** Tags of the dollar-quoted bodies around the reference, e.g. ["", "body"] for $$ ... $body$. */
  dollarTags: string[];
}

export const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** The lexical context at each reference (references themselves are opaque tokens). */
/** One level of the scan: the outermost, or the body of a dollar quote (its tag). */
interface Frame {
  tag: string | null;
  state: SqlState;
  depth: number;
}

export function sqlContexts(t: string, refs: Reference[]): SqlContext[] {
  const frames: Frame[] = [{ tag: null, state: 'code', depth: 0 }];
  const ctx: SqlContext[] = [];
  const here = (): SqlContext => ({
    state: frames.find((f) => f.state !== 'code')?.state ?? 'code',
    dollarTags: frames.filter((f) => f.tag !== null).map((f) => f.tag!),
  });
  let r = 0;
  let i = 0;
  outer: while (i < t.length) {
    if (r < refs.length && i === refs[r]!.start) {
      ctx.push(here());
      i = refs[r++]!.end;
      continue;
    }
    // The first closing tag of any enclosing dollar quote ends it, whatever is inside.
    if (t[i] === '$') {
      for (let k = 1; k < frames.length; k++) {
        const close = `$${frames[k]!.tag}$`;
        if (t.startsWith(close, i)) {
          frames.length = k;
          i += close.length;
          continue outer;
        }
      }
    }
    const f = frames[frames.length - 1]!;
    const c = t[i]!;
    switch (f.state) {
      case 'code':
        i = codeStep(t, i, frames);
        break;
      case 'a string literal':
      case 'an escape string':
      case 'a quoted identifier':
        i = quotedStep(t, i, f);
        break;
      case 'a comment':
        if (c === '\n') f.state = 'code';
        i++;
        break;
      case 'a block comment':
        if (c === '/' && t[i + 1] === '*') {
          f.depth++;
          i += 2;
        } else if (c === '*' && t[i + 1] === '/') {
          if (--f.depth === 0) f.state = 'code';
          i += 2;
        } else i++;
        break;
    }
  }
  while (ctx.length < refs.length) ctx.push(here());
  return ctx;
}

/** One step in plain SQL: a comment, a quote or a dollar quote may start here. Returns the next position. */
function codeStep(t: string, i: number, frames: Frame[]): number {
  const f = frames[frames.length - 1]!;
  const c = t[i]!;
  if (c === '-' && t[i + 1] === '-') {
    f.state = 'a comment';
    return i + 2;
  }
  if (c === '/' && t[i + 1] === '*') {
    f.state = 'a block comment';
    f.depth = 1;
    return i + 2;
  }
  if (c === "'") {
    const p = t[i - 1];
    f.state = (p === 'E' || p === 'e') && !isWordChar(t[i - 2]) ? 'an escape string' : 'a string literal';
    return i + 1;
  }
  if (c === '"') {
    f.state = 'a quoted identifier';
    return i + 1;
  }
  if (c === '$' && !isWordChar(t[i - 1]) && t[i - 1] !== '$') {
    DOLLAR_TAG.lastIndex = i;
    const m = DOLLAR_TAG.exec(t);
    if (m) {
      frames.push({ tag: m[1] ?? '', state: 'code', depth: 0 });
      return i + m[0].length;
    }
  }
  return i + 1;
}

/** One step inside a string or quoted identifier: a doubled quote stays inside, a single one closes; E'' strings also escape with a backslash. */
function quotedStep(t: string, i: number, f: Frame): number {
  const quote = f.state === 'a quoted identifier' ? '"' : "'";
  const c = t[i];
  if (c === '\\' && f.state === 'an escape string') return i + 2;
  if (c !== quote) return i + 1;
  if (t[i + 1] === quote) return i + 2;
  f.state = 'code';
  return i + 1;
}
