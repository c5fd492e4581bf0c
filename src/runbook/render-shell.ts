// Shell fields: each reference becomes one single-quoted shell word; `| raw` splices it as is.
import type { Reference, TemplateProblem } from './template-references.js';
import { rawWarning, type Output, type ValueOf } from './template-output.js';
import { shellContexts } from './shell-scanner.js';

/** Shell word quoting: 'it'\''s'. */
function quoteShell(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function renderShell(
  t: string,
  refs: Reference[],
  valueOf: ValueOf,
  out: Output,
  problems: TemplateProblem[],
  shellEnv: Readonly<Record<string, string>>,
): void {
  const ctx = shellContexts(t, refs);
  let p = 0;
  refs.forEach((r, k) => {
    out.text(t.slice(p, r.start), p);
    p = r.end;
    const v = valueOf(r);
    const env = Object.hasOwn(shellEnv, r.name) ? shellEnv[r.name] : undefined;
    if (r.filter === 'raw' && env) {
      problems.push({
        offset: r.start,
        severity: 'error',
        message: `{{ ${r.name} | raw }}: a secret variable cannot be spliced into a shell command; write {{ ${r.name} }} (it becomes "$${env}")`,
      });
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
