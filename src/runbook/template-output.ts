// What the renderers write into: the output text plus a map back to template offsets, so a
// problem in the rendered SQL points at the right place in the runbook.
import type { Reference, TemplateProblem } from './template-references.js';

/** Output text plus a piecewise map back to template offsets. */
export class Output {
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

export type ValueOf = (r: Reference) => string | undefined;

export function rawWarning(r: Reference, where: string): TemplateProblem {
  return {
    offset: r.start,
    severity: 'warning',
    message: `{{ ${r.name} | raw }} splices the value into the ${where} unquoted: only use it for trusted values`,
  };
}
