// Plain fields: the value as is (the step kind quotes what it needs); filters are an error.
import type { Reference, TemplateProblem } from './template-references.js';
import type { Output, ValueOf } from './template-output.js';

export function renderPlain(t: string, refs: Reference[], valueOf: ValueOf, out: Output, problems: TemplateProblem[]): void {
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
