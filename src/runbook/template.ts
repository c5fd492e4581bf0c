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
import { findReferences, type Reference, type TemplateProblem } from './template-references.js';
import { Output, type ValueOf } from './template-output.js';
import { renderPlain } from './render-plain.js';
import { renderShell } from './render-shell.js';
import { renderSql } from './render-sql.js';

/** 'sql-fragment': rendered like 'sql', but an expression or clause the kind checks itself (not parsed as a statement). */
export type FieldMode = 'sql' | 'sql-fragment' | 'shell' | 'plain';

export interface Rendered {
  text: string;
  /** Maps an offset in `text` back to the template. */
  toTemplate(offset: number): number;
  problems: TemplateProblem[];
  /** Names referenced (defined or not). */
  used: string[];
}

export interface RenderOptions {
  /** Secret variables -> the environment variable holding them. In a shell command such a
   * reference becomes "$ENV", so the value reaches the command through its environment, never
   * through the arguments of `sh -c` (which any local user can read). */
  shellEnv?: Readonly<Record<string, string>>;
}

export function renderTemplate(
  template: string,
  mode: FieldMode,
  vars: Readonly<Record<string, string>>,
  opts: RenderOptions = {},
): Rendered {
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
