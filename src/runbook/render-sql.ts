// SQL fields: identifiers quoted (part by part for schema.name, the whole word for idx_{{ t }}),
// literals quoted, numbers checked; a reference must stand in code and touch no quote, `$` or `\`.
import { quoteIdent, quoteLiteral } from '../pg/connection.js';
import { SQL_FILTERS, type Reference, type TemplateProblem } from './template-references.js';
import { rawWarning, type Output, type ValueOf } from './template-output.js';
import { isWordChar, sqlContexts, type SqlContext } from './sql-scanner.js';

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * `schema.table` -> ["schema", "table"]. A part is either bare (no dot, no double quote) or
 * double-quoted with "" for a quote inside. Anything else (an unbalanced quote, an empty part) is
 * not a name: undefined.
 */
function parseQualified(value: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    let part = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) return undefined;
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += value[i++];
      }
    } else {
      while (i < value.length && value[i] !== '.' && value[i] !== '"') part += value[i++];
    }
    if (part === '') return undefined;
    parts.push(part);
    if (i >= value.length) return parts;
    if (value[i] !== '.') return undefined;
    i++;
  }
}
const NAMEDATALEN = 63;

interface Unit {
  refs: number[];
  start: number;
  end: number;
}

/** What every step of rendering one SQL template shares. */
interface SqlRender {
  t: string;
  refs: Reference[];
  ctx: SqlContext[];
  valueOf: ValueOf;
  problems: TemplateProblem[];
}

const isIdentRef = (s: SqlRender, k: number) => !s.refs[k]!.filter || s.refs[k]!.filter === 'ident';
const isRaw = (s: SqlRender, k: number) => s.refs[k]!.filter === 'raw';
const error = (s: SqlRender, offset: number, message: string) => s.problems.push({ offset, severity: 'error', message });

export function renderSql(t: string, refs: Reference[], valueOf: ValueOf, out: Output, problems: TemplateProblem[]): void {
  const s: SqlRender = { t, refs, ctx: sqlContexts(t, refs), valueOf, problems };
  const units = sqlUnits(s);
  let p = 0;
  for (let ui = 0; ui < units.length; ui++) {
    const u = units[ui]!;
    out.text(t.slice(p, u.start), p);
    p = u.end;
    out.subst(renderUnit(s, u, units[ui - 1], units[ui + 1]), u.start);
  }
  out.text(t.slice(p), p);
}

/**
 * Groups references into units: an identifier reference absorbs the word characters around it and
 * any identifier references it touches (idx_{{ table }}_{{ column }} is one identifier).
 */
function sqlUnits(s: SqlRender): Unit[] {
  const { t, refs, ctx } = s;
  const units: Unit[] = [];
  for (let k = 0; k < refs.length; k++) {
    const r = refs[k]!;
    if (!isIdentRef(s, k) || ctx[k]!.state !== 'code') {
      units.push({ refs: [k], start: r.start, end: r.end });
      continue;
    }
    const prev = units[units.length - 1];
    const gapStart = prev ? prev.end : 0;
    let start = r.start;
    while (start > gapStart && isWordChar(t[start - 1])) start--;
    const joinsPrev =
      prev !== undefined && start === prev.end && prev.refs.every((x) => isIdentRef(s, x)) && ctx[prev.refs[0]!]!.state === 'code';
    if (joinsPrev) {
      prev.refs.push(k);
      prev.end = r.end;
    } else units.push({ refs: [k], start, end: r.end });
    const u = units[units.length - 1]!;
    const nextStart = k + 1 < refs.length ? refs[k + 1]!.start : t.length;
    let end = u.end;
    while (end < nextStart && isWordChar(t[end])) end++;
    u.end = end;
  }
  return units;
}

/** The text that replaces one unit, with its problems recorded. */
function renderUnit(s: SqlRender, u: Unit, prevUnit: Unit | undefined, nextUnit: Unit | undefined): string {
  const k0 = u.refs[0]!;
  const r0 = s.refs[k0]!;
  const c = s.ctx[k0]!;
  const label = `{{ ${r0.name}${r0.filter ? ` | ${r0.filter}` : ''} }}`;
  if (isRaw(s, k0)) {
    s.problems.push(rawWarning(r0, 'SQL'));
    return s.valueOf(r0) ?? '';
  }
  if (r0.filter && !(SQL_FILTERS as readonly string[]).includes(r0.filter)) {
    error(s, r0.start, `unknown filter "| ${r0.filter}": use ident (the default), literal, number or raw`);
    return 'NULL';
  }
  if (c.state !== 'code') {
    const fix =
      r0.filter === 'literal' ? `remove the quotes around it: ${label} adds them` : 'move it out; a reference quotes its value by itself';
    error(s, r0.start, `${label} is inside ${c.state}: ${fix}`);
    return s.valueOf(r0) ?? '';
  }
  checkNeighbours(s, u, label, prevUnit, nextUnit);
  let rendered: string;
  if (isIdentRef(s, k0)) rendered = renderIdentifier(s, u);
  else if (r0.filter === 'literal') rendered = quoteLiteral(s.valueOf(r0) ?? '');
  else rendered = renderNumber(s, r0);
  for (const tag of c.dollarTags) {
    if (rendered.includes(`$${tag}$`)) {
      error(s, r0.start, `the value of ${label} contains "$${tag}$", which would end the dollar-quoted body around it`);
    }
  }
  return rendered;
}

/** A quoted value must not touch a quote, `$`, `\\` or another quoted value. */
function checkNeighbours(s: SqlRender, u: Unit, label: string, prevUnit: Unit | undefined, nextUnit: Unit | undefined): void {
  const k0 = u.refs[0]!;
  const r0 = s.refs[k0]!;
  const before = s.t[u.start - 1];
  const after = s.t[u.end];
  const touchesRef =
    (prevUnit && prevUnit.end === u.start && !isRaw(s, prevUnit.refs[0]!)) ||
    (nextUnit && nextUnit.start === u.end && !isRaw(s, nextUnit.refs[0]!));
  if (touchesRef) {
    error(s, r0.start, `${label} touches another reference: put a space or an operator between them`);
  } else if ((before !== undefined && `'"$\\`.includes(before)) || (after !== undefined && `'"$\\`.includes(after))) {
    const ch = before !== undefined && `'"$\\`.includes(before) ? before : after;
    error(s, r0.start, `${label} touches ${JSON.stringify(ch)}: put a space between them (a quoted value must stand on its own)`);
  } else if (!isIdentRef(s, k0) && (isWordChar(before) || isWordChar(after))) {
    error(s, r0.start, `${label} is glued to a word: put a space or an operator between them`);
  }
}

/** A whole reference is a (possibly qualified) name, quoted part by part; a word with references in it is one identifier. */
function renderIdentifier(s: SqlRender, u: Unit): string {
  const r0 = s.refs[u.refs[0]!]!;
  const whole = u.refs.length === 1 && u.start === r0.start && u.end === r0.end;
  if (!whole) {
    // Rebuild the word: literal word characters plus the values.
    const values = u.refs.map((k) => s.valueOf(s.refs[k]!) ?? '?');
    let word = '';
    let q = u.start;
    u.refs.forEach((k, n) => {
      word += s.t.slice(q, s.refs[k]!.start) + values[n]!;
      q = s.refs[k]!.end;
    });
    word += s.t.slice(q, u.end);
    if (Buffer.byteLength(word) > NAMEDATALEN) {
      s.problems.push({
        offset: u.start,
        severity: 'warning',
        message: `identifier "${word}" is longer than ${NAMEDATALEN} bytes: PostgreSQL truncates it`,
      });
    }
    return quoteIdent(word);
  }
  const v = s.valueOf(r0);
  const parts = v === undefined ? ['?'] : parseQualified(v);
  if (!parts) {
    error(
      s,
      r0.start,
      `variable "${r0.name}" = ${JSON.stringify(v)} is not a name: write name or schema.name; double-quote a part that holds a dot or a quote ("my.schema".orders, "a""b")`,
    );
    return quoteIdent(v ?? '');
  }
  for (const part of parts) {
    if (Buffer.byteLength(part) > NAMEDATALEN) {
      s.problems.push({
        offset: r0.start,
        severity: 'warning',
        message: `identifier "${part}" is longer than ${NAMEDATALEN} bytes: PostgreSQL truncates it`,
      });
    }
  }
  return parts.map(quoteIdent).join('.');
}

function renderNumber(s: SqlRender, r0: Reference): string {
  const v = s.valueOf(r0);
  if (v !== undefined && !NUMBER.test(v.trim())) {
    error(s, r0.start, `{{ ${r0.name} | number }}: value ${JSON.stringify(v)} is not a number`);
    return '0';
  }
  const n = (v ?? '0').trim();
  return n.startsWith('-') ? `(${n})` : n;
}
