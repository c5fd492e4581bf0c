// One shape for what `validate`, `analyze` and `plan` find, so each CI format is written once.
import type { AnalysisReport } from '../../analyze/analysis-types.js';
import type { Plan } from '../../analyze/plan/plan-types.js';
import type { Problem, Runbook } from '../../runbook/model.js';

export interface CiFinding {
  /** Path as given on the command line (relative to the repository in CI); undefined for stdin. */
  file?: string;
  line: number;
  col?: number;
  severity: 'error' | 'warning' | 'info';
  /** Short: the rule, or the step. */
  title: string;
  message: string;
  /** Stable across runs for the same problem (GitLab matches findings between pipelines by it). */
  key: string;
}

export function validateFindings(problems: Problem[]): CiFinding[] {
  return problems.map((p) => ({
    file: p.pos.file,
    line: p.pos.line,
    col: p.pos.col,
    severity: p.severity,
    title: 'pgrunbook validate',
    message: p.message,
    key: `validate|${p.message}`,
  }));
}

export function analyzeFindings(report: AnalysisReport, file: string | undefined): CiFinding[] {
  const out: CiFinding[] = [];
  for (const s of report.statements) {
    for (const f of s.findings) {
      out.push({
        ...(file ? { file } : {}),
        line: s.line,
        col: s.col,
        severity: f.severity,
        title: `${f.source === 'squawk' ? 'squawk' : 'pgrunbook'}: ${f.rule}`,
        message: f.safe_alternative ? `${f.message}\nSafer: ${f.safe_alternative}` : f.message,
        key: `analyze|${f.rule}|${s.sql}`,
      });
    }
  }
  return out;
}

/** Step findings point at the step in the runbook; plan-wide ones at the top of the file. */
export function planFindings(plan: Plan, runbook: Runbook): CiFinding[] {
  const out: CiFinding[] = [];
  const posOf = (id: string) =>
    Object.values(runbook.phases)
      .flat()
      .find((s) => s.id === id)?.pos;
  for (const s of plan.steps) {
    const pos = posOf(s.id);
    const at = { file: runbook.file, line: pos?.line ?? 1, ...(pos ? { col: pos.col } : {}) };
    if (s.error)
      out.push({ ...at, severity: 'error', title: `step ${s.id}`, message: `cannot plan: ${s.error}`, key: `plan|${s.id}|error` });
    for (const w of s.warnings) {
      out.push({
        ...at,
        severity: w.severity,
        title: `step ${s.id}${w.rule ? `: ${w.rule}` : ''}`,
        message: w.safe ? `${w.message}\nSafer: ${w.safe}` : w.message,
        key: `plan|${s.id}|${w.rule ?? ''}|${w.message}`,
      });
    }
  }
  for (const w of plan.warnings) {
    out.push({
      file: runbook.file,
      line: 1,
      severity: w.severity,
      title: w.rule ?? 'plan',
      message: w.message,
      key: `plan||${w.rule ?? ''}|${w.message}`,
    });
  }
  return out;
}
