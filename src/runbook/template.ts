// Variable references `{{ name }}` / `{{ name | filter }}` and how they render in each kind of field.
//
//   SQL fields    {{ v }} / {{ v | ident }}  identifier, quoted ("a.b" quoted part by part)
//                 word{{ v }}word            the whole word is quoted as one identifier
//                 {{ v | literal }}          string literal, quoted
//                 {{ v | number }}           checked to be a number, then spliced
//                 {{ v | raw }}              spliced as is (validate warns)
//   shell fields  {{ v }}                    one shell word, single-quoted
//                 {{ v | raw }}              spliced as is (validate warns)
//   other fields  {{ v }}                    plain text (the step kind quotes what it needs)
//
// A quoted reference must stand in code: inside a string, quoted identifier or comment (SQL) or
// inside quotes or a here-document (shell) the quoting would not hold, so that is an error, as is a reference that
// touches a quote, `$` or `\`. Inside a dollar-quoted body the value may not contain the closing
// tag. That way no value, however hostile, can change the structure of the statement.
import { quoteIdent, quoteLiteral } from '../pg/connection.js';
import type { Severity } from './model.js';

/** 'sql-fragment': rendered like 'sql', but an expression or clause the kind checks itself (not parsed as a statement). */
export type FieldMode = 'sql' | 'sql-fragment' | 'shell' | 'plain';

export const SQL_FILTERS = ['ident', 'literal', 'number', 'raw'] as const;
export const SHELL_FILTERS = ['raw'] as const;

export interface Reference {
  /** Offsets of `{{` and just after `}}` in the template. */
  start: number;
  end: number;
  name: string;
  filter?: string;
}

export interface TemplateProblem {
  /** Offset in the template. */
  offset: number;
  severity: Severity;
  message: string;
}

export interface Rendered {
  text: string;
  /** Maps an offset in `text` back to the template. */
  toTemplate(offset: number): number;
  problems: TemplateProblem[];
  /** Names referenced (defined or not). */
  used: string[];
}

const REF_LIKE = /\{\{([^{}]*)\}\}/g;
// Anything that starts like a name is meant as a reference; `{{1,2}}` (an array literal) is not.
const LOOKS_LIKE_REF = /^\s*[A-Za-z_][A-Za-z0-9_]*\s*(\|.*)?$/s;
const REF = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?$/;

export function findReferences(template: string, problems: TemplateProblem[] = []): Reference[] {
  const refs: Reference[] = [];
  for (const m of template.matchAll(REF_LIKE)) {
    const inner = m[1]!;
    if (!LOOKS_LIKE_REF.test(inner)) continue;
    const r = REF.exec(inner);
    if (!r) {
      problems.push({ offset: m.index!, severity: 'error', message: `malformed reference "${m[0]}": write {{ name }} or {{ name | filter }}` });
      continue;
    }
    refs.push({ start: m.index!, end: m.index! + m[0].length, name: r[1]!, filter: r[2] });
  }
  return refs;
}

export function hasReferences(template: string): boolean {
  return findReferences(template).length > 0;
}

/** Shell word quoting: 'it'\''s'. */
export function quoteShell(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface RenderOptions {
  /** Secret variables -> the environment variable holding them. In a shell command such a
   * reference becomes "$ENV", so the value reaches the command through its environment, never
   * through the arguments of `sh -c` (which any local user can read). */
  shellEnv?: Readonly<Record<string, string>>;
}

export function renderTemplate(template: string, mode: FieldMode, vars: Readonly<Record<string, string>>, opts: RenderOptions = {}): Rendered {
  const problems: TemplateProblem[] = [];
  const refs = findReferences(template, problems);
  const used = refs.map((r) => r.name);
  const out = new Output();
  if (refs.length === 0) {
    out.text(template, 0);
    return { text: out.value, toTemplate: out.mapper(), problems, used };
  }
  const values = new Map<Reference, string | undefined>();
  for (const r of refs) {
    const v = Object.hasOwn(vars, r.name) ? vars[r.name] : undefined;
    if (v === undefined) {
      problems.push({
        offset: r.start,
        severity: 'error',
        message: `undefined variable "${r.name}"${suggestName(r.name, Object.keys(vars))}: declare it under vars (or check the spelling)`,
      });
    }
    values.set(r, v);
  }
  const valueOf: ValueOf = (r) => values.get(r);
  if (mode === 'plain') renderPlain(template, refs, valueOf, out, problems);
  else if (mode === 'shell') renderShell(template, refs, valueOf, out, problems, opts.shellEnv ?? {});
  else renderSql(template, refs, valueOf, out, problems);
  return { text: out.value, toTemplate: out.mapper(), problems, used };
}

function suggestName(name: string, names: string[]): string {
  const lower = name.toLowerCase();
  const hit = names.find((n) => n.toLowerCase() === lower) ?? names.find((n) => editClose(n, name));
  return hit ? ` (did you mean "${hit}"?)` : '';
}

function editClose(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 2) return false;
  let diff = 0;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) diff++;
  return diff <= 2 || a.includes(b) || b.includes(a);
}

/** Output text plus a piecewise map back to template offsets. */
class Output {
  value = '';
  private segs: { out: number; tpl: number; copy: boolean }[] = [];
  text(s: string, tplStart: number): void {
    if (!s) return;
    this.segs.push({ out: this.value.length, tpl: tplStart, copy: true });
    this.value += s;
  }
  /** Substituted text: every offset inside maps to `tplStart`. */
  subst(s: string, tplStart: number): void {
    this.segs.push({ out: this.value.length, tpl: tplStart, copy: false });
    this.value += s;
  }
  mapper(): (o: number) => number {
    const segs = this.segs;
    return (o: number) => {
      let seg: (typeof segs)[number] | undefined;
      for (const s of segs) {
        if (s.out <= o) seg = s;
        else break;
      }
      if (!seg) return 0;
      return seg.copy ? seg.tpl + (o - seg.out) : seg.tpl;
    };
  }
}

type ValueOf = (r: Reference) => string | undefined;

function renderPlain(t: string, refs: Reference[], valueOf: ValueOf, out: Output, problems: TemplateProblem[]): void {
  let p = 0;
  for (const r of refs) {
    out.text(t.slice(p, r.start), p);
    if (r.filter) {
      problems.push({
        offset: r.start,
        severity: 'error',
        message: `"| ${r.filter}" applies only in SQL and shell fields; in this field {{ ${r.name} }} is plain text`,
      });
    }
    out.subst(valueOf(r) ?? '', r.start);
    p = r.end;
  }
  out.text(t.slice(p), p);
}

// ---------------------------------------------------------------------------------------------
// Shell

type ShellContext = 'code' | 'single quotes' | 'double quotes' | 'a comment' | 'a here-document';

const HEREDOC = /<<(-?)[ \t]*(?:'([^'\n]*)'|"([^"\n]*)"|([^\s;&|<>()'"]+))/y;

function shellContexts(t: string, refs: Reference[]): ShellContext[] {
  const ctx: ShellContext[] = [];
  let state: ShellContext = 'code';
  // Here-documents start on the line after their `<<WORD`; several may be pending on one line.
  const pending: { delim: string; stripTabs: boolean }[] = [];
  let r = 0;
  let i = 0;
  while (i < t.length) {
    if (r < refs.length && i === refs[r]!.start) {
      ctx.push(state);
      i = refs[r++]!.end;
      continue;
    }
    const c = t[i]!;
    switch (state) {
      case 'code':
        if (c === '\\') i += 2;
        else if (c === '<' && t[i + 1] === '<' && t[i + 2] !== '<') {
          HEREDOC.lastIndex = i;
          const m = HEREDOC.exec(t);
          if (m) {
            pending.push({ delim: m[2] ?? m[3] ?? m[4]!, stripTabs: m[1] === '-' });
            i = HEREDOC.lastIndex;
          } else i += 2;
        } else {
          if (c === "'") state = 'single quotes';
          else if (c === '"') state = 'double quotes';
          else if (c === '#' && (i === 0 || /[\s;&|()]/.test(t[i - 1]!))) state = 'a comment';
          else if (c === '\n' && pending.length) state = 'a here-document';
          i++;
        }
        break;
      case 'single quotes':
        if (c === "'") state = 'code';
        i++;
        break;
      case 'double quotes':
        if (c === '\\') i += 2;
        else {
          if (c === '"') state = 'code';
          i++;
        }
        break;
      case 'a comment':
        if (c === '\n') state = pending.length ? 'a here-document' : 'code';
        i++;
        break;
      case 'a here-document': {
        // At a line start: is this the delimiter line?
        const nl = t.indexOf('\n', i);
        const lineEnd = nl < 0 ? t.length : nl;
        const refInLine = r < refs.length && refs[r]!.start < lineEnd;
        const line = t.slice(i, lineEnd);
        const h = pending[0]!;
        if (!refInLine && (h.stripTabs ? line.replace(/^\t+/, '') : line) === h.delim) {
          pending.shift();
          if (!pending.length) state = 'code';
        }
        // References in the body are expanded by the shell, quotes or not.
        while (r < refs.length && refs[r]!.start <= lineEnd) {
          ctx.push(state);
          r++;
        }
        i = Math.max(lineEnd + 1, r > 0 ? refs[r - 1]!.end : 0);
        break;
      }
    }
  }
  while (ctx.length < refs.length) ctx.push(state);
  return ctx;
}

function renderShell(t: string, refs: Reference[], valueOf: ValueOf, out: Output, problems: TemplateProblem[], shellEnv: Readonly<Record<string, string>>): void {
  const ctx = shellContexts(t, refs);
  let p = 0;
  refs.forEach((r, k) => {
    out.text(t.slice(p, r.start), p);
    p = r.end;
    const v = valueOf(r);
    const env = Object.hasOwn(shellEnv, r.name) ? shellEnv[r.name] : undefined;
    if (r.filter === 'raw' && env) {
      problems.push({ offset: r.start, severity: 'error', message: `{{ ${r.name} | raw }}: a secret variable cannot be spliced into a shell command; write {{ ${r.name} }} (it becomes "$${env}")` });
      return;
    }
    if (r.filter === 'raw') {
      problems.push(rawWarning(r, 'shell command'));
      out.subst(v ?? '', r.start);
      return;
    }
    if (r.filter) {
      problems.push({
        offset: r.start,
        severity: 'error',
        message: `unknown filter "| ${r.filter}" in a shell command: use {{ ${r.name} }} (one shell-quoted word) or {{ ${r.name} | raw }}`,
      });
    } else if (ctx[k] === 'a here-document') {
      problems.push({
        offset: r.start,
        severity: 'error',
        message: `{{ ${r.name} }} is inside a here-document, where the shell ignores quoting: pass the value another way (an env: variable, or an argument)`,
      });
    } else if (ctx[k] !== 'code') {
      problems.push({
        offset: r.start,
        severity: 'error',
        message: `{{ ${r.name} }} is inside ${ctx[k]}: remove the quotes around it; the reference is shell-quoted by itself`,
      });
    } else if (precededByOdd(t, r.start, '\\') || t[r.start - 1] === '$') {
      problems.push({
        offset: r.start,
        severity: 'error',
        message: `{{ ${r.name} }} directly follows "${t[r.start - 1]}": put a space before it (its quoting must not be escaped)`,
      });
    }
    out.subst(env ? `"$${env}"` : quoteShell(v ?? ''), r.start);
  });
  out.text(t.slice(p), p);
}

function precededByOdd(t: string, at: number, ch: string): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && t[i] === ch; i--) n++;
  return n % 2 === 1;
}

// ---------------------------------------------------------------------------------------------
// SQL

type SqlState = 'code' | 'a string literal' | 'an escape string' | 'a quoted identifier' | 'a comment' | 'a block comment';

interface SqlContext {
  state: SqlState;
  /** Tags of the dollar-quoted bodies around the reference, e.g. ["", "body"] for $$ ... $body$. */
  dollarTags: string[];
}

const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** The lexical context at each reference (references themselves are opaque tokens). */
function sqlContexts(t: string, refs: Reference[]): SqlContext[] {
  interface Frame {
    tag: string | null;
    state: SqlState;
    depth: number;
  }
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
        if (c === '-' && t[i + 1] === '-') {
          f.state = 'a comment';
          i += 2;
        } else if (c === '/' && t[i + 1] === '*') {
          f.state = 'a block comment';
          f.depth = 1;
          i += 2;
        } else if (c === "'") {
          const p = t[i - 1];
          f.state = (p === 'E' || p === 'e') && !isWordChar(t[i - 2]) ? 'an escape string' : 'a string literal';
          i++;
        } else if (c === '"') {
          f.state = 'a quoted identifier';
          i++;
        } else if (c === '$' && !isWordChar(t[i - 1]) && t[i - 1] !== '$') {
          DOLLAR_TAG.lastIndex = i;
          const m = DOLLAR_TAG.exec(t);
          if (m) {
            frames.push({ tag: m[1] ?? '', state: 'code', depth: 0 });
            i += m[0].length;
          } else i++;
        } else i++;
        break;
      case 'a string literal':
      case 'an escape string':
      case 'a quoted identifier': {
        // A doubled quote stays inside; a single one closes. E'' strings also escape with a backslash.
        const quote = f.state === 'a quoted identifier' ? '"' : "'";
        if (c === '\\' && f.state === 'an escape string') i += 2;
        else if (c !== quote) i++;
        else if (t[i + 1] === quote) i += 2;
        else {
          f.state = 'code';
          i++;
        }
        break;
      }
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

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * `schema.table` -> ["schema", "table"]. A part is either bare (no dot, no double quote) or
 * double-quoted with "" for a quote inside. Anything else (an unbalanced quote, an empty part) is
 * not a name: undefined.
 */
export function parseQualified(value: string): string[] | undefined {
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

function rawWarning(r: Reference, where: string): TemplateProblem {
  return {
    offset: r.start,
    severity: 'warning',
    message: `{{ ${r.name} | raw }} splices the value into the ${where} unquoted: only use it for trusted values`,
  };
}

function renderSql(t: string, refs: Reference[], valueOf: ValueOf, out: Output, problems: TemplateProblem[]): void {
  const ctx = sqlContexts(t, refs);
  const error = (offset: number, message: string) => problems.push({ offset, severity: 'error', message });
  const isIdentRef = (k: number) => !refs[k]!.filter || refs[k]!.filter === 'ident';
  const isRaw = (k: number) => refs[k]!.filter === 'raw';

  // Group references into units: an identifier reference absorbs the word characters around it and
  // any identifier references it touches (idx_{{ table }}_{{ column }} is one identifier).
  interface Unit {
    refs: number[];
    start: number;
    end: number;
  }
  const units: Unit[] = [];
  for (let k = 0; k < refs.length; k++) {
    const r = refs[k]!;
    if (!isIdentRef(k) || ctx[k]!.state !== 'code') {
      units.push({ refs: [k], start: r.start, end: r.end });
      continue;
    }
    const prev = units[units.length - 1];
    const gapStart = prev ? prev.end : 0;
    let start = r.start;
    while (start > gapStart && isWordChar(t[start - 1])) start--;
    const joinsPrev =
      prev !== undefined && start === prev.end && prev.refs.every(isIdentRef) && ctx[prev.refs[0]!]!.state === 'code';
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

  let p = 0;
  for (let ui = 0; ui < units.length; ui++) {
    const u = units[ui]!;
    out.text(t.slice(p, u.start), p);
    p = u.end;
    const k0 = u.refs[0]!;
    const r0 = refs[k0]!;
    const c = ctx[k0]!;
    const label = `{{ ${r0.name}${r0.filter ? ` | ${r0.filter}` : ''} }}`;

    if (isRaw(k0)) {
      problems.push(rawWarning(r0, 'SQL'));
      out.subst(valueOf(r0) ?? '', u.start);
      continue;
    }
    if (r0.filter && !(SQL_FILTERS as readonly string[]).includes(r0.filter)) {
      error(r0.start, `unknown filter "| ${r0.filter}": use ident (the default), literal, number or raw`);
      out.subst('NULL', u.start);
      continue;
    }
    if (c.state !== 'code') {
      const fix = r0.filter === 'literal' ? `remove the quotes around it: ${label} adds them` : 'move it out; a reference quotes its value by itself';
      error(r0.start, `${label} is inside ${c.state}: ${fix}`);
      out.subst(valueOf(r0) ?? '', u.start);
      continue;
    }
    // Neighbours: a quoted value must not touch a quote, `$`, `\` or another quoted value.
    const before = t[u.start - 1];
    const after = t[u.end];
    const prevUnit = units[ui - 1];
    const nextUnit = units[ui + 1];
    const touchesRef =
      (prevUnit && prevUnit.end === u.start && !isRaw(prevUnit.refs[0]!)) || (nextUnit && nextUnit.start === u.end && !isRaw(nextUnit.refs[0]!));
    if (touchesRef) {
      error(r0.start, `${label} touches another reference: put a space or an operator between them`);
    } else if ((before !== undefined && `'"$\\`.includes(before)) || (after !== undefined && `'"$\\`.includes(after))) {
      const ch = before !== undefined && `'"$\\`.includes(before) ? before : after;
      error(r0.start, `${label} touches ${JSON.stringify(ch)}: put a space between them (a quoted value must stand on its own)`);
    } else if (!isIdentRef(k0) && (isWordChar(before) || isWordChar(after))) {
      error(r0.start, `${label} is glued to a word: put a space or an operator between them`);
    }

    let rendered: string;
    if (isIdentRef(k0)) {
      const values = u.refs.map((k) => valueOf(refs[k]!) ?? '?');
      const whole = u.refs.length === 1 && u.start === r0.start && u.end === r0.end;
      if (whole) {
        const v = valueOf(r0);
        const parts = v === undefined ? ['?'] : parseQualified(v);
        if (!parts) {
          error(
            r0.start,
            `variable "${r0.name}" = ${JSON.stringify(v)} is not a name: write name or schema.name; double-quote a part that holds a dot or a quote ("my.schema".orders, "a""b")`,
          );
          rendered = quoteIdent(v ?? '');
        } else {
          for (const part of parts) {
            if (Buffer.byteLength(part) > NAMEDATALEN) {
              problems.push({ offset: r0.start, severity: 'warning', message: `identifier "${part}" is longer than ${NAMEDATALEN} bytes: PostgreSQL truncates it` });
            }
          }
          rendered = parts.map(quoteIdent).join('.');
        }
      } else {
        // Rebuild the word: literal word characters plus the values.
        let word = '';
        let q = u.start;
        u.refs.forEach((k, n) => {
          word += t.slice(q, refs[k]!.start) + values[n]!;
          q = refs[k]!.end;
        });
        word += t.slice(q, u.end);
        rendered = quoteIdent(word);
        if (Buffer.byteLength(word) > NAMEDATALEN) {
          problems.push({ offset: u.start, severity: 'warning', message: `identifier "${word}" is longer than ${NAMEDATALEN} bytes: PostgreSQL truncates it` });
        }
      }
    } else if (r0.filter === 'literal') {
      rendered = quoteLiteral(valueOf(r0) ?? '');
    } else {
      const v = valueOf(r0);
      if (v !== undefined && !NUMBER.test(v.trim())) {
        error(r0.start, `{{ ${r0.name} | number }}: value ${JSON.stringify(v)} is not a number`);
        rendered = '0';
      } else {
        const n = (v ?? '0').trim();
        rendered = n.startsWith('-') ? `(${n})` : n;
      }
    }
    for (const tag of c.dollarTags) {
      if (rendered.includes(`$${tag}$`)) {
        error(r0.start, `the value of ${label} contains "$${tag}$", which would end the dollar-quoted body around it`);
      }
    }
    out.subst(rendered, u.start);
  }
  out.text(t.slice(p), p);
}

