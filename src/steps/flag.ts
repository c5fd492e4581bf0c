// flag: set a feature flag and roll it out in stages (e.g. [5, 25, 100] percent).
// After every write the value is read back (a typo'd key or a read-only replica would otherwise
// pass silently). At each stage the step optionally holds for `hold` (let traffic use the new path)
// and runs the `validate` query: one row whose first column must be true. A failed validation
// stops the rollout at that stage and fails the step, so the rollback phase flips the flag back.
// Between stages it asks a `confirm` gate, with the validation result as evidence.
// Backends (src/flags/): Redis (a string key holding the percentage) or a Postgres table, opened
// through the factory the composition root passes to flagKind().
// Rollback restores the value the flag had before this run (or removes it if it had none).
import { z } from 'zod';
import type { StepKind, StepContext, PlanContext, StepPlan, ReconcileResult } from '../engine/step-kind.js';
import type { GateLevel, Problem, StepSpec } from '../runbook/model.js';
import type { Evidence, GateRequest } from '../engine/gates.js';
import { RunbookError } from '../util/runbook-error.js';
import { boolish, identifier, zDuration } from './ddl/ddl-schema.js';
import { probe } from '../pg/probe.js';
import { log, patchState } from './ddl/exec.js';
import {
  DEFAULT_FLAG_TABLE,
  DEFAULT_REDIS_URL,
  type FlagBackend,
  type FlagBackendFactory,
  type FlagTarget,
} from '../flags/flag-backend.js';
import { redact } from '../util/secrets.js';
import { loadParser, parseStatements } from '../pg/sqlparse.js';

const percentage = z.preprocess(
  (v) => (typeof v === 'string' && /^\s*\d+\s*%?\s*$/.test(v) ? Number(v.replace('%', '')) : v),
  z.number().int().min(0).max(100),
);

const schema = z
  .object({
    backend: z.enum(['redis', 'postgres']),
    key: z.string().trim().min(1).max(512),
    /** Rollout percentages, ascending; the last one is where the flag ends. */
    stages: z.array(percentage).min(1).default([100]),
    /** Redis URL; default $REDIS_URL, else redis://127.0.0.1:6379. */
    url: z.string().optional(),
    /** Postgres table (in the target database). */
    table: identifier.default(DEFAULT_FLAG_TABLE),
    create_table: boolish.default(true),
    /** SQL returning one row whose first column is true when the new path is healthy. */
    validate: z.string().trim().min(1).optional(),
    /** Time to let traffic run at each stage before validating. */
    hold: zDuration().default(0),
  })
  .strict()
  .refine((p) => p.stages.every((s, i) => i === 0 || s > p.stages[i - 1]!), {
    message: 'stages must be strictly ascending, e.g. [5, 25, 100]',
  });
type Params = z.infer<typeof schema>;

interface State {
  /** Value before this run touched the flag (null = not set). */
  previous?: number | null;
  /** Highest stage written and read back. */
  reached?: number;
}

function redisUrl(p: Params): string {
  return p.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
}

function where(p: Params): string {
  return p.backend === 'redis' ? `redis ${redact(redisUrl(p))}` : `table ${p.table}`;
}

function target(p: Params, ctx: StepContext): FlagTarget {
  if (p.backend === 'redis') return { backend: 'redis', url: redisUrl(p) };
  return { backend: 'postgres', db: ctx.pool, table: p.table, createTable: p.create_table, lockTimeoutMs: ctx.step.settings.lockTimeoutMs };
}

type WithBackend = <T>(p: Params, ctx: StepContext, fn: (b: FlagBackend) => Promise<T>) => Promise<T>;

function usingFactory(open: FlagBackendFactory): WithBackend {
  return async (p, ctx, fn) => {
    const b = await open(target(p, ctx));
    try {
      return await fn(b);
    } finally {
      await b.close();
    }
  };
}

async function writeAndReadBack(b: FlagBackend, ctx: StepContext, key: string, pct: number): Promise<void> {
  await b.set(key, pct, `pgrunbook ${ctx.runId}`);
  const back = await b.get(key);
  if (back !== pct) {
    throw new RunbookError(`flag ${key}: wrote ${pct} but read back ${back === null ? 'nothing' : back} from ${b.description}`, {
      hint: 'another writer may own this key, or the backend is a read-only replica; check the key and the backend',
    });
  }
}

async function validation(p: Params, ctx: StepContext): Promise<Evidence | undefined> {
  if (!p.validate) return undefined;
  try {
    const rows = await probe<Record<string, unknown>>(ctx.pool, p.validate, {
      lockTimeoutMs: ctx.step.settings.lockTimeoutMs,
      statementTimeoutMs: ctx.step.settings.statementTimeoutMs || 30_000,
    });
    const first = rows[0] ? Object.values(rows[0])[0] : undefined;
    return { label: 'validation query', value: first === undefined ? 'no row' : (first as any), ok: first === true, detail: p.validate };
  } catch (err: any) {
    return { label: 'validation query', value: `error: ${err.message}`, ok: false, detail: p.validate };
  }
}

/** The `flag` kind; `open` connects a backend (src/flags/open-flag-backend.ts in production). */
export function flagKind(open: FlagBackendFactory): StepKind<Params> {
  return new FlagKind(usingFactory(open));
}

class FlagKind implements StepKind<Params> {
  readonly kind = 'flag';
  readonly schema = schema as unknown as z.ZodType<Params>;
  readonly sqlFields = ['validate'];

  constructor(private readonly withBackend: WithBackend) {}

  async validate(step: StepSpec<Params>): Promise<Problem[]> {
    const p = step.params;
    if (!p.validate) return [];
    await loadParser();
    try {
      const st = parseStatements(p.validate);
      if (st.length !== 1 || st[0]!.node !== 'SelectStmt')
        return [
          { pos: step.pos, severity: 'error', message: 'flag: validate must be one SELECT returning one row with a boolean first column' },
        ];
    } catch (err: any) {
      return [{ pos: step.pos, severity: 'error', message: `flag: validate does not parse: ${err.message}` }];
    }
    return [];
  }

  // Switching application behaviour is worth a confirmation even though it takes no lock.
  defaultGate = (): GateLevel => 'confirm';

  plan(step: StepSpec<Params>, _ctx: PlanContext): StepPlan {
    const p = step.params;
    const statements =
      p.backend === 'postgres'
        ? p.stages.map((s) => ({
            sql: `INSERT INTO ${p.table} (name, percentage, updated_at, updated_by) VALUES ('${p.key.replace(/'/g, "''")}', ${s}, now(), 'pgrunbook') ON CONFLICT (name) DO UPDATE SET percentage = ${s}`,
            transactional: true,
            description: `flag ${p.key} → ${s}%`,
          }))
        : p.stages.map((s) => ({ sql: `-- redis: SET ${p.key} ${s}`, transactional: true, description: `flag ${p.key} → ${s}%` }));
    return {
      statements,
      locks: [],
      reversible: true,
      notes: [
        `flag ${p.key} in ${where(p)}: ${p.stages.map((s) => `${s}%`).join(' → ')}, each read back${p.validate ? ', validated' : ''}${p.hold ? ` after ${p.hold} ms` : ''}, with a gate between stages`,
        'rollback restores the value the flag had before the run',
      ],
    };
  }

  async apply(step: StepSpec<Params>, ctx: StepContext) {
    const p = step.params;
    if (p.validate) await checkSelect(p.validate);
    return this.withBackend(p, ctx, async (b) => {
      const state = ((await ctx.state.get<State>()) ?? {}) as State;
      const current = await b.get(p.key);
      if (current !== null && Number.isNaN(current)) {
        throw new RunbookError(`flag ${p.key} in ${b.description} holds a value that is not a percentage`, {
          hint: 'this key is used for something else; pick another key',
        });
      }
      if (state.previous === undefined) await patchState(ctx, { previous: current });
      // Resume: continue from the highest stage already reached (re-validating it).
      const reached = state.reached;
      const startAt =
        reached === undefined
          ? 0
          : Math.max(
              0,
              p.stages.findLastIndex((s) => s <= reached),
            );
      let lastEvidence: Evidence | undefined;
      for (let i = startAt; i < p.stages.length; i++) {
        const pct = p.stages[i]!;
        // The first stage is covered by the step's own gate; a resumed stage was approved before.
        const resumedHere = i === startAt && reached === pct;
        if (i > 0 && !resumedHere) {
          const request: GateRequest = {
            id: `${step.id}:stage:${pct}`,
            stepId: step.id,
            level: 'confirm',
            title: `Raise ${p.key} from ${p.stages[i - 1] ?? 0}% to ${pct}%`,
            action: `Write ${pct} to ${p.key} in ${b.description} and read it back${p.validate ? ', then run the validation query' : ''}.`,
            evidence: [{ label: 'current stage', value: `${p.stages[i - 1] ?? 0}%` }, ...(lastEvidence ? [lastEvidence] : [])],
          };
          const decision = await ctx.gates.request(request, ctx.signal);
          ctx.emit({
            type: 'step.log',
            stepId: step.id,
            level: decision.approved ? 'info' : 'warn',
            message: `stage ${pct}%: ${decision.approved ? 'approved' : 'not approved'} by ${decision.by}${decision.reason ? ` (${decision.reason})` : ''}`,
          });
          if (!decision.approved) {
            throw new RunbookError(`rollout of ${p.key} stopped at ${p.stages[i - 1] ?? 0}%: stage ${pct}% was not approved`, {
              hint: 'resume to continue the rollout, or run the rollback phase to flip the flag back',
            });
          }
        }
        await writeAndReadBack(b, ctx, p.key, pct);
        await patchState(ctx, { reached: pct });
        log(ctx, `flag ${p.key} = ${pct}% in ${b.description} (read back)`);
        ctx.emit({
          type: 'step.progress',
          stepId: step.id,
          progress: { kind: 'generic', label: `flag ${p.key} rollout %`, done: pct, total: 100 },
        });
        if (p.hold > 0) await ctx.clock.sleep(p.hold, ctx.signal);
        lastEvidence = await validation(p, ctx);
        if (lastEvidence) {
          ctx.emit({ type: 'step.evidence', stepId: step.id, evidence: [{ label: 'stage', value: `${pct}%` }, lastEvidence] });
          if (!lastEvidence.ok) {
            throw new RunbookError(`validation failed at ${pct}% for ${p.key}: the query returned ${JSON.stringify(lastEvidence.value)}`, {
              hint: 'the flag stays at this stage; run the rollback phase to flip it back, or fix the cause and resume',
            });
          }
        }
      }
      return { key: p.key, percentage: p.stages[p.stages.length - 1] };
    });
  }

  async verify(step: StepSpec<Params>, ctx: StepContext) {
    const p = step.params;
    return this.withBackend(p, ctx, async (b) => {
      const v = await b.get(p.key);
      const target = p.stages[p.stages.length - 1]!;
      return [{ label: `flag ${p.key} (${b.description})`, value: v === null ? 'not set' : `${v}%`, ok: v === target ? true : undefined }];
    });
  }

  async rollback(step: StepSpec<Params>, ctx: StepContext) {
    const p = step.params;
    const state = (await ctx.state.get<State>()) ?? {};
    if (state.previous === undefined) {
      log(ctx, `flag ${p.key} was not changed by this run; leaving it`);
      return;
    }
    await this.withBackend(p, ctx, async (b) => {
      if (state.previous === null) {
        await b.unset(p.key);
        if ((await b.get(p.key)) !== null) throw new RunbookError(`flag ${p.key}: removal did not stick in ${b.description}`);
        log(ctx, `flag ${p.key} removed (it was not set before this run)`);
      } else {
        await writeAndReadBack(b, ctx, p.key, state.previous!);
        log(ctx, `flag ${p.key} restored to ${state.previous}%`);
      }
    });
  }

  async reconcile(step: StepSpec<Params>, ctx: StepContext): Promise<ReconcileResult> {
    const p = step.params;
    const v = await this.withBackend(p, ctx, (b) => b.get(p.key));
    const target = p.stages[p.stages.length - 1]!;
    return v === target
      ? { found: 'done', detail: `flag ${p.key} is at ${v}%` }
      : { found: 'not-done', detail: `flag ${p.key} is at ${v === null ? 'not set' : `${v}%`}, target ${target}%` };
  }
}

async function checkSelect(sql: string): Promise<void> {
  await loadParser();
  const st = parseStatements(sql);
  if (st.length !== 1 || st[0]!.node !== 'SelectStmt') {
    throw new RunbookError('flag: validate must be one SELECT returning one row with a boolean first column', { exitCode: 2 });
  }
}
