// Finding variable references `{{ name }}` / `{{ name | filter }}` in a template. What each kind
// of field does with them is in render-plain.ts, render-shell.ts and render-sql.ts.
import type { Severity } from './model.js';

export const SQL_FILTERS = ['ident', 'literal', 'number', 'raw'] as const;

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
      problems.push({
        offset: m.index!,
        severity: 'error',
        message: `malformed reference "${m[0]}": write {{ name }} or {{ name | filter }}`,
      });
      continue;
    }
    refs.push({ start: m.index!, end: m.index! + m[0].length, name: r[1]!, filter: r[2] });
  }
  return refs;
}
