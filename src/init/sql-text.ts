// Pieces of a statement's own text (a DEFAULT expression, a SET list, a WHERE clause) found with
// PostgreSQL's scanner: the parser's AST has no end positions and there is no deparser, so the
// rewriter copies the operator's SQL as written instead of re-printing it.
import { scanSync, type ScanToken } from 'libpg-query';

export interface Tok {
  start: number;
  end: number;
  text: string;
  /** Upper-case keyword name, or '' for identifiers, literals and operators. */
  kw: string;
  /** Parenthesis depth before this token. */
  depth: number;
}

export function tokenize(sql: string): Tok[] {
  const out: Tok[] = [];
  let depth = 0;
  for (const t of scanSync(sql).tokens as ScanToken[]) {
    if (t.tokenName === 'SQL_COMMENT' || t.tokenName === 'C_COMMENT') continue;
    const text = sql.slice(t.start, t.end);
    if (text === ')') depth--;
    out.push({ start: t.start, end: t.end, text, kw: t.keywordKind > 0 ? text.toUpperCase() : '', depth });
    if (text === '(') depth++;
  }
  return out;
}

/** Index of the first token at or after `offset`. */
export function tokenAt(toks: Tok[], offset: number): number {
  const i = toks.findIndex((t) => t.start >= offset);
  return i < 0 ? toks.length : i;
}

/** Text of tokens [from, to) as written (comments and spacing between them kept). */
export function textOf(sql: string, toks: Tok[], from: number, to: number): string {
  if (from >= to || from >= toks.length) return '';
  return sql.slice(toks[from]!.start, toks[Math.min(to, toks.length) - 1]!.end);
}

/**
 * From token `from`, the index of the first token at the same depth that is one of `stops`
 * (keywords, or punctuation such as ','), or that closes the enclosing parenthesis.
 */
export function findStop(toks: Tok[], from: number, stops: string[]): number {
  const base = toks[from]?.depth ?? 0;
  for (let i = from; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.depth < base) return i;
    if (t.depth === base && (stops.includes(t.kw) || stops.includes(t.text))) return i;
  }
  return toks.length;
}

/** Splits tokens [from, to) on commas at their own depth: [start, end) pairs. */
export function splitCommas(toks: Tok[], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  const base = toks[from]?.depth ?? 0;
  let s = from;
  for (let i = from; i < to; i++) {
    if (toks[i]!.depth === base && toks[i]!.text === ',') {
      out.push([s, i]);
      s = i + 1;
    }
  }
  if (s < to) out.push([s, to]);
  return out;
}

/** The first token index in [from, to) whose keyword is `kw` at depth `depth`. */
export function findKeyword(toks: Tok[], from: number, to: number, kw: string, depth?: number): number {
  for (let i = from; i < to; i++) if (toks[i]!.kw === kw && (depth === undefined || toks[i]!.depth === depth)) return i;
  return -1;
}

/** The tokens inside the parenthesis opened at `open`: [open + 1, index of its ')'). */
export function insideParens(toks: Tok[], open: number): [number, number] {
  const d = toks[open]!.depth;
  for (let i = open + 1; i < toks.length; i++) if (toks[i]!.text === ')' && toks[i]!.depth === d) return [open + 1, i];
  return [open + 1, toks.length];
}
