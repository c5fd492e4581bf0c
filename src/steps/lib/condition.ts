// Conditions on a query result, shared by `check` and `wait`:
//   expect: "= 0"       first column of the first row compared with a value
//                       (=, !=, <>, <, <=, >, >=; `is null`, `is not null`; a bare value means =)
//   rows: 0 | "> 10" | empty | nonempty     number of rows returned
// Values: numbers compare numerically (bigint/numeric text included), true/false, null, and text
// ('quoted' or bare). Parsed at validation time, so a typo is caught before anything runs.
import { z } from 'zod';
import type { Evidence } from '../../engine/gates.js';

export type Op = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type Operand =
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' }
  | { type: 'text'; value: string };

export interface Condition {
  op: Op;
  operand: Operand;
  /** As written, for messages: "= 0". */
  text: string;
}

const OP = /^\s*(==|=|!=|<>|<=|>=|<|>)\s*(.*?)\s*$/s;

function operand(raw: string): Operand {
  const s = raw.trim();
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s)) return { type: 'number', value: Number(s) };
  if (/^(true|false)$/i.test(s)) return { type: 'boolean', value: s.toLowerCase() === 'true' };
  if (/^null$/i.test(s)) return { type: 'null' };
  const q = /^'(.*)'$/s.exec(s) ?? /^"(.*)"$/s.exec(s);
  return { type: 'text', value: q ? q[1]! : s };
}

export function parseExpect(v: string | number | boolean | null): Condition | string {
  if (v === null) return { op: '=', operand: { type: 'null' }, text: 'is null' };
  if (typeof v === 'number') return { op: '=', operand: { type: 'number', value: v }, text: `= ${v}` };
  if (typeof v === 'boolean') return { op: '=', operand: { type: 'boolean', value: v }, text: `= ${v}` };
  const s = v.trim();
  if (s === '') return 'expect is empty: write a comparison such as "= 0", "> 100", "is null" or a value';
  if (/^is\s+null$/i.test(s)) return { op: '=', operand: { type: 'null' }, text: 'is null' };
  if (/^is\s+not\s+null$/i.test(s)) return { op: '!=', operand: { type: 'null' }, text: 'is not null' };
  const m = OP.exec(s);
  if (!m) return { op: '=', operand: operand(s), text: `= ${s}` };
  const op = (m[1] === '==' ? '=' : m[1] === '<>' ? '!=' : m[1]) as Op;
  if (m[2] === '') return `expect "${s}": the comparison has no value; write e.g. "${m[1]} 0"`;
  const o = operand(m[2]!);
  if (o.type !== 'number' && o.type !== 'text' && op !== '=' && op !== '!=') return `expect "${s}": ${m[1]} needs a number or text`;
  return { op, operand: o, text: `${op} ${m[2]}` };
}

export function parseRows(v: string | number): Condition | string {
  if (typeof v === 'number') return { op: '=', operand: { type: 'number', value: v }, text: `= ${v}` };
  const s = v.trim().toLowerCase();
  if (s === 'empty') return { op: '=', operand: { type: 'number', value: 0 }, text: '= 0 (empty)' };
  if (s === 'nonempty' || s === 'non-empty') return { op: '>', operand: { type: 'number', value: 0 }, text: '> 0 (nonempty)' };
  const m = OP.exec(s) ?? /^()(\d+)$/.exec(s);
  const n = m ? Number(m[2]) : NaN;
  if (!m || !/^\d+$/.test(m[2]!) || !Number.isInteger(n)) {
    return `rows ${JSON.stringify(v)}: write a row count (0, "> 10", "<= 5") or empty / nonempty`;
  }
  const op = (!m[1] || m[1] === '==' ? '=' : m[1] === '<>' ? '!=' : m[1]) as Op;
  return { op, operand: { type: 'number', value: n }, text: `${op} ${n}` };
}

const expectInput = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const rowsInput = z.union([z.number().int().nonnegative(), z.string()]);

export const zExpect = expectInput
  .describe('Condition on the first column of the first row: "= 0", "> 100", "!= \'done\'", "is null", or a value.')
  .transform((v, ctx) => {
    const c = parseExpect(v);
    if (typeof c === 'string') {
      ctx.issues.push({ code: 'custom', message: c, input: v });
      return z.NEVER;
    }
    return c;
  });

export const zRows = rowsInput.describe('Condition on the number of rows: 0, "> 10", empty, nonempty.').transform((v, ctx) => {
  const c = parseRows(v);
  if (typeof c === 'string') {
    ctx.issues.push({ code: 'custom', message: c, input: v });
    return z.NEVER;
  }
  return c;
});

/** A query plus at least one condition. */
export const zCondition = z
  .strictObject({
    query: z.string().trim().min(1).describe('A read-only query (it runs in a READ ONLY transaction).'),
    expect: zExpect.optional(),
    rows: zRows.optional(),
  })
  .refine((c) => c.expect !== undefined || c.rows !== undefined, {
    error: 'add a condition: expect: "= 0" (first value of the first row) and/or rows: nonempty',
  });

export type QueryCondition = z.output<typeof zCondition>;

function cmp(op: Op, d: number): boolean {
  switch (op) {
    case '=':
      return d === 0;
    case '!=':
      return d !== 0;
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    case '>=':
      return d >= 0;
  }
}

/** A pg value as text for messages and evidence. */
export function showValue(v: unknown): string {
  if (v === undefined) return '(no row)';
  if (v === null) return 'null';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function holds(c: Condition, actual: unknown): boolean {
  if (actual === undefined) return false; // no row at all
  const o = c.operand;
  if (o.type === 'null') return c.op === '=' ? actual === null : actual !== null;
  if (actual === null) return c.op === '!=';
  if (o.type === 'number') {
    const n =
      typeof actual === 'number'
        ? actual
        : typeof actual === 'bigint'
          ? Number(actual)
          : typeof actual === 'string' && actual.trim() !== ''
            ? Number(actual)
            : NaN;
    if (Number.isNaN(n)) return false;
    return cmp(c.op, n === o.value ? 0 : n < o.value ? -1 : 1);
  }
  if (o.type === 'boolean') {
    const b =
      typeof actual === 'boolean'
        ? actual
        : /^(t|true)$/i.test(String(actual))
          ? true
          : /^(f|false)$/i.test(String(actual))
            ? false
            : undefined;
    if (b === undefined) return false;
    return cmp(c.op, b === o.value ? 0 : 1);
  }
  const s = showValue(actual);
  return cmp(c.op, s === o.value ? 0 : s < o.value ? -1 : 1);
}

export interface Outcome {
  ok: boolean;
  value: unknown;
  rows: number;
  evidence: Evidence[];
  /** "first value 42, expected = 0". */
  summary: string;
}

export function evaluate(c: QueryCondition, rows: Record<string, unknown>[]): Outcome {
  const first = rows[0];
  const value = first ? Object.values(first)[0] : undefined;
  const evidence: Evidence[] = [];
  const parts: string[] = [];
  let ok = true;
  if (c.expect) {
    const pass = holds(c.expect, value);
    ok &&= pass;
    const col = first ? Object.keys(first)[0] : 'value';
    evidence.push({ label: `${col} ${c.expect.text}`, value: toEvidenceValue(value), ok: pass, detail: c.query });
    parts.push(`${col} is ${showValue(value)} (expected ${c.expect.text})`);
  }
  if (c.rows) {
    const pass = holds(c.rows, rows.length);
    ok &&= pass;
    evidence.push({ label: `rows ${c.rows.text}`, value: rows.length, ok: pass, detail: c.query });
    parts.push(`${rows.length} row${rows.length === 1 ? '' : 's'} (expected ${c.rows.text})`);
  }
  return { ok, value, rows: rows.length, evidence, summary: parts.join(', ') };
}

function toEvidenceValue(v: unknown): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  return showValue(v);
}
