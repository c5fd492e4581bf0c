// rehearse: the test phase. Runs this runbook's deploy and rollback phases on a sandbox copy of the
// target (see src/rehearsal/), traces locks, verifies the rollback by a schema diff and projects
// timings to the target's size. It only reads the target. It fails when the deploy fails in the
// sandbox, when the rollback does not restore the schema (unless allowed), or when the projection
// exceeds `max_projected`. The rehearsal itself and the report writer come from the composition
// root (src/cli/composition-root.ts): this kind only asks for them.
import { z } from 'zod';
import { RunbookError } from '../util/runbook-error.js';
import type { Evidence } from '../engine/gates.js';
import { DURATION_HINT, parseDuration } from '../runbook/durations.js';
import type { StepContext, StepKind, StepPlan } from '../engine/step-kind.js';
import type { StepSpec } from '../runbook/model.js';
import { projectionRange } from '../rehearsal/projection.js';
import { parseSamplePct, SAMPLE_CHOICES, type SampleChoice } from '../rehearsal/sample-arg.js';
import type { RehearseRequest } from '../rehearsal/run-rehearsal.js';
import type { RehearsalResult } from '../rehearsal/rehearsal-types.js';

const duration = z.union([z.number().nonnegative(), z.string()]).refine((v) => parseDuration(v) !== undefined, { message: DURATION_HINT });

export const rehearseSchema = z
  .object({
    /** embedded (default), docker, or a staging URL. */
    sandbox: z.string().min(1).optional(),
    /** Percent of each big table, e.g. 1 or "1%". */
    sample: z.union([z.number().gt(0).lte(100), z.string().regex(/^\s*\d+(\.\d+)?\s*%?\s*$/)]).optional(),
    /** How big tables are sampled: auto (whole key groups of a repeated index key where they fit), slices, tablesample. */
    sample_method: z.enum(SAMPLE_CHOICES as [SampleChoice, ...SampleChoice[]]).optional(),
    drill: z.boolean().optional(),
    /** Write the Markdown report (and JSON beside it) here. */
    report: z.string().min(1).optional(),
    /** Fail the step when the rollback does not bring the schema back (default true). */
    require_rollback: z.boolean().optional(),
    /** Fail the step when the projected deploy on the target is longer than this. */
    max_projected: duration.optional(),
  })
  .strict();

export type RehearseParams = z.infer<typeof rehearseSchema>;

interface Summary {
  deploy: string;
  rollback_verified: boolean;
  projected_seconds: number;
  uncertainty: number;
  range: string;
  sandbox: string;
}

export interface RehearseDeps {
  /** Runs the rehearsal with the composition root's step kinds and runner factory. */
  rehearse(request: RehearseRequest): Promise<RehearsalResult>;
  /** Writes the Markdown report at `path` and the JSON beside it. */
  writeReport(path: string, result: RehearsalResult): Promise<void>;
}

export function rehearseKind(deps: RehearseDeps): StepKind<RehearseParams | null> {
  return { ...rehearseBase, apply: (step, ctx) => applyRehearse(deps, step, ctx) };
}

const rehearseBase: Omit<StepKind<RehearseParams | null>, 'apply'> = {
  kind: 'rehearse',
  schema: rehearseSchema.nullable() as z.ZodType<RehearseParams | null>,
  defaultGate: () => 'none',
  plan(step): StepPlan {
    const p = step.params ?? {};
    return {
      statements: [],
      locks: [],
      reversible: true,
      notes: [
        `rehearses the deploy and rollback phases on a ${p.sandbox ?? 'embedded'} sandbox with a ${p.sample ?? 1}% sample (${p.sample_method ?? 'auto'}); the target is only read`,
      ],
    };
  },
  async verify(_step, ctx): Promise<Evidence[]> {
    const s = await ctx.state.get<Summary>();
    if (!s) return [];
    return [
      { label: 'rehearsed deploy', value: s.deploy, ok: s.deploy === 'completed' },
      { label: 'rollback verified by schema diff', value: s.rollback_verified, ok: s.rollback_verified },
      {
        label: 'projected deploy on the target (s)',
        value: s.projected_seconds,
        detail: s.range ? `range ${s.range}` : `±${Math.round(s.uncertainty * 100)}%`,
      },
    ];
  },
};

const FORWARDED = new Set(['step.retry', 'step.throttle', 'rehearsal.drill', 'step.failed']);

async function applyRehearse(deps: RehearseDeps, step: StepSpec<RehearseParams | null>, ctx: StepContext): Promise<Summary> {
  const p = step.params ?? {};
  const result = await deps.rehearse({
    runbook: ctx.runbook,
    sourceUrl: ctx.connectionString,
    sandbox: p.sandbox,
    samplePct: p.sample === undefined ? undefined : parseSamplePct(p.sample),
    sampleMethod: p.sample_method,
    drill: p.drill,
    signal: ctx.signal,
    log: (message) => ctx.emit({ type: 'step.log', stepId: step.id, level: message.startsWith('warning') ? 'warn' : 'info', message }),
    listeners: [
      (e) => {
        // The sandbox's own run shows up as this step's log.
        if (e.type === 'step.completed')
          ctx.emit({
            type: 'step.log',
            stepId: step.id,
            level: 'info',
            message: `sandbox ${e.phase}/${e.stepId} done in ${e.durationMs} ms`,
          });
        else if (FORWARDED.has(e.type)) ctx.emit({ type: 'step.log', stepId: step.id, level: 'warn', message: `sandbox: ${describe(e)}` });
      },
    ],
  });
  if (p.report) await deps.writeReport(p.report, result);
  ctx.emit({ type: 'rehearsal.projection', projection: result.projection });
  const summary: Summary = {
    deploy: result.deploy.status,
    rollback_verified: result.rollbackVerified,
    projected_seconds: result.projection.total_seconds,
    uncertainty: result.projection.uncertainty,
    range: projectionRange(result.projection),
    sandbox: result.sandbox.description,
  };
  await ctx.state.set({ ...summary });
  failUnlessSafe(result, p);
  return summary;
}

/** The step fails when the sandbox deploy failed, the rollback did not restore the schema, or the projection is too long. */
function failUnlessSafe(result: RehearsalResult, p: RehearseParams): void {
  if (result.deploy.status !== 'completed') {
    throw new RunbookError(`the deploy phase ${result.deploy.status} in the sandbox: ${result.deploy.error ?? 'see the log'}`, {
      hint: 'fix the runbook (or the data it meets) before deploying to the target; nothing was changed on the target',
    });
  }
  if (!result.rollbackVerified && p.require_rollback !== false) {
    const d = result.schemaDiff;
    throw new RunbookError(
      result.rollback?.status !== 'completed'
        ? `the rollback phase ${result.rollback?.status ?? 'did not run'} in the sandbox: ${result.rollback?.error ?? ''}`
        : `the rollback did not bring the schema back: ${[...(d?.removed ?? []).map((l) => `missing ${l}`), ...(d?.added ?? []).map((l) => `left ${l}`)].slice(0, 5).join('; ')}`,
      { hint: 'make every deploy step reversible (or add rollback steps), or set require_rollback: false on this step' },
    );
  }
  const max = p.max_projected === undefined ? undefined : parseDuration(p.max_projected)!;
  if (max !== undefined && result.projection.total_seconds * 1000 > max) {
    throw new RunbookError(
      `the projected deploy on the target takes ${result.projection.total_seconds.toFixed(1)} s, over max_projected (${max / 1000} s)`,
      {
        hint: 'run it off-peak with a larger max_projected, or split the change',
      },
    );
  }
}

function describe(e: { type: string } & Record<string, unknown>): string {
  switch (e.type) {
    case 'step.retry':
      return `${e.stepId} retry ${e.attempt}/${e.of}: ${e.reason}`;
    case 'step.throttle':
      return `${e.stepId} ${e.reason ? `throttling: ${e.reason}` : 'throttle cleared'}`;
    case 'rehearsal.drill':
      return `drill ${e.fault} ${e.action}: ${e.detail}`;
    case 'step.failed':
      return `${e.stepId} failed: ${e.error}`;
    default:
      return e.type;
  }
}
