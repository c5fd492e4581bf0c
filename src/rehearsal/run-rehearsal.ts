// The rehearsal: sandbox → clone + sample → trace deploy (with drill faults if asked) → trace
// rollback → schema diff → projection. The source is only read; the sandbox is always closed.
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';
import type { Listener } from '../engine/events.js';
import type { RunnerFactory } from '../engine/runner.js';
import type { StepKinds, StepPlan } from '../engine/step-kind.js';
import { RunbookError } from '../util/runbook-error.js';
import { describeTarget, explainConnectionError, resolveConnection } from '../pg/connection.js';
import type { Runbook } from '../runbook/model.js';
import { redact } from '../util/secrets.js';
import { capSandboxBatches } from './batch-cap.js';
import {
  chooseSchemaSource,
  cloneSample,
  type CloneResult,
  type SampleChoice,
  type SchemaFrom,
  type SchemaSource,
  type TableSample,
} from './clone.js';
import { Drill, type DrillOptions } from './drill.js';
import { normRel } from './relation-names.js';
import { isConnectionLost, lostConnectionError, type RehearsalStage } from './lost-connection.js';
import type { FindPgDumpOptions } from './pgdump.js';
import { compareLocks, deployPlans, predictLocks } from './predict.js';
import { projectionNotes, projectSteps, type StepProjection, toProjection } from './projection.js';
import { readIndexShapes, readSourceMemory } from './index-shape.js';
import { readOnlySourcePool } from './source-read-only.js';
import { openSandbox, type Sandbox, withSandbox } from './sandbox/index.js';
import { type ServerIdentity, serverIdentity } from './sandbox/sandbox-identity.js';
import { diffSchemas, schemaSnapshot } from './schema-diff.js';
import { resolveTableSet, touchedRelationNames } from './tables.js';
import { tracePhase } from './trace.js';
import type { DrillOutcome, PhaseTrace, PredictedLocks, RehearsalResult, RehearsalStepReport } from './rehearsal-types.js';
import { watchSession } from '../pg/stall-watchdog.js';

/** A rehearsal as a caller asks for it; the composition root adds the step kinds and the runner factory. */
export interface RehearseRequest {
  runbook: Runbook;
  /** Source connection string; undefined = DATABASE_URL / libpq environment. */
  sourceUrl?: string;
  /** embedded (default), docker, or a staging postgres:// URL. */
  sandbox?: string;
  /** Percent of each big table to copy. Default 1. */
  samplePct?: number;
  /** auto (default: whole key groups of a repeated index key, else primary-key slices), slices or tablesample. */
  sampleMethod?: SampleChoice;
  drill?: boolean;
  drillOptions?: Partial<Omit<DrillOptions, 'sandboxUrl' | 'runbook' | 'plans'>>;
  pgDump?: FindPgDumpOptions;
  /** How the schema is copied: pg_dump, catalog, or auto (default: pg_dump when one can dump the source, else the catalog). */
  schemaFrom?: SchemaFrom;
  /** Listeners on the sandbox runner's events (renderers, the TUI). */
  listeners?: Listener[];
  log?: (message: string) => void;
  signal?: AbortSignal;
  sampleIntervalMs?: number;
}

export interface RehearseOptions extends RehearseRequest {
  /** To plan the runbook's steps. */
  kinds: StepKinds;
  /** Runs the deploy and rollback phases in the sandbox. */
  newRunner: RunnerFactory;
}

export const DEFAULT_SAMPLE_PCT = 1;

export async function rehearse(opts: RehearseOptions): Promise<RehearsalResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const samplePct = opts.samplePct ?? DEFAULT_SAMPLE_PCT;
  if (!(samplePct > 0 && samplePct <= 100))
    throw new RunbookError(`--sample must be a percentage in (0, 100], got ${samplePct}`, { exitCode: 2 });
  const spec = resolveConnection(opts.sourceUrl);
  const source = readOnlySourcePool(spec.connectionString);
  const at: { stage: RehearsalStage } = { stage: 'source read' };
  let opened: Sandbox | undefined;
  /** A lost connection inside the sandbox's scope, kept in case closing the sandbox fails too. */
  let lost: unknown;
  try {
    let ident: ServerIdentity;
    try {
      ident = await serverIdentity(source);
    } catch (err) {
      throw new RunbookError(explainConnectionError(err, spec));
    }
    const names = await touchedRelationNames(opts.kinds, opts.runbook, source, ident.versionNum);
    const sandboxSpec = opts.sandbox ?? 'embedded';
    const isUrl = /^postgres(ql)?:\/\//i.test(sandboxSpec);
    // Fail before starting anything when pg_dump was asked for and cannot do the schema copy.
    const schemaSource = isUrl ? undefined : await chooseSchemaSource(ident.major, opts.schemaFrom, opts.pgDump);
    log(`opening the ${isUrl ? 'staging' : sandboxSpec} sandbox`);
    at.stage = 'sandbox start';
    const sandbox = await openSandbox({
      spec: sandboxSpec,
      sourceMajor: ident.major,
      database: ident.database,
      sourceUrl: spec.connectionString,
      log,
    });
    opened = sandbox;
    for (const w of sandbox.warnings) log(`warning: ${w}`);
    const run: Rehearsal = { opts, log, samplePct, warnings: [], source, sourceUrl: spec.connectionString, ident, names, schemaSource, at };
    const sourceDesc = `${describeTarget(spec.target)} (PostgreSQL ${ident.major})`;
    return await withSandbox(sandbox, async (sb) => {
      const sbPool = new pg.Pool({ ...clientConfig(sb.url), application_name: 'pgrunbook-rehearsal:inspect', max: 2 });
      sbPool.on('error', () => {});
      sbPool.on('connect', (c) => watchSession(c, sb.url));
      try {
        const body = await rehearseIn(run, sb, sbPool).catch((err: unknown) => {
          if (isConnectionLost(err)) lost = err;
          throw err;
        });
        return {
          runbook: opts.runbook.name,
          source: { description: redact(sourceDesc), major: ident.major },
          sandbox: { kind: sb.kind, description: sb.description, major: sb.major, warnings: sb.warnings },
          ...body,
          warnings: [...sb.warnings, ...run.warnings],
          startedAt: new Date(started).toISOString(),
          durationMs: Date.now() - started,
        };
      } finally {
        await sbPool.end().catch(() => {});
      }
    });
  } catch (err) {
    const cause = lost ?? err;
    if (!isConnectionLost(cause)) throw err;
    // close() runs once; asking again gives how that one attempt went.
    const closed = opened
      ? await opened.close().then(
          () => undefined,
          (e: unknown) => (e as Error)?.message ?? String(e),
        )
      : undefined;
    throw lostConnectionError({
      err: cause,
      at: at.stage,
      source: describeTarget(spec.target),
      sandbox: opened && { description: opened.description, cleanedUp: closed === undefined, closeError: closed },
    });
  } finally {
    await source.end().catch(() => {});
  }
}

/** One rehearsal's inputs, resolved against the source before the sandbox opens; warnings collect as it goes. */
interface Rehearsal {
  opts: RehearseOptions;
  log: (message: string) => void;
  samplePct: number;
  warnings: string[];
  source: pg.Pool;
  sourceUrl: string | undefined;
  ident: ServerIdentity;
  /** Relation names the deploy touches. */
  names: string[];
  schemaSource: SchemaSource | undefined;
  /** The part under way, for the error a lost connection gets. */
  at: { stage: RehearsalStage };
}

type SizeSample = Pick<TableSample, 'table' | 'sourceRows' | 'sourceBytes' | 'sampleRows' | 'sampleBytes'>;
type RehearsalBody = Pick<
  RehearsalResult,
  'clone' | 'deploy' | 'rollback' | 'rollbackVerified' | 'schemaDiff' | 'steps' | 'projection' | 'drill'
>;

/** Copy, plan, trace deploy and rollback, compare the schema, project: everything that happens inside the sandbox. */
async function rehearseIn(run: Rehearsal, sb: Sandbox, sbPool: pg.Pool): Promise<RehearsalBody> {
  const { opts, log } = run;
  run.at.stage = 'copy';
  const { clone, samples } = await copyIntoSandbox(run, sb, sbPool);
  run.at.stage = 'sandbox inspection';
  const tables = (await resolveTableSet(sbPool, run.names)).tables
    .filter((t) => t.relkind === 'r' || t.relkind === 'p')
    .map((t) => t.qualified);

  const sbVersion = Number((await sbPool.query<{ n: string }>(`select current_setting('server_version_num') n`)).rows[0]!.n);
  const plans = await deployPlans(opts.kinds, opts.runbook, sbPool, sbVersion);
  const predictions = await predictLocks(plans, sbPool, sbVersion);
  const before = await schemaSnapshot(sbPool);
  // For the projection: index shapes on both sides (before the deploy changes the sample) and
  // the source's cache size. Catalog reads only; a failure just leaves the band without them.
  const indexes = await Promise.all([readIndexShapes(run.source, tables), readIndexShapes(sbPool, tables)])
    .then(([src, sample]) => ({ source: src, sample }))
    .catch(() => undefined);
  const sourceMemory = await readSourceMemory(run.source);

  // A sampled table's backfill batches stay a small share of the sample, as on the source (batchCap.ts).
  const { runbook: sandboxRunbook, caps } = clone ? capSandboxBatches(opts.runbook, clone.tables) : { runbook: opts.runbook, caps: [] };
  for (const c of caps)
    log(
      `backfill ${c.stepId}: sandbox batches capped at ${c.cap} rows (5% of the ${c.sampleRows}-row sample of ${c.table}; the source's batches are a far smaller share of it)`,
    );

  run.at.stage = 'deploy trace';
  const { deploy, drill } = await traceDeploy(run, sb.url, sandboxRunbook, plans, tables);
  run.at.stage = 'rollback trace';
  const { rollback, schemaDiff, rollbackVerified } = await traceRollback(run, sb.url, sandboxRunbook, tables, sbPool, before);

  // 4. Projection and per-step report.
  const projected = projectSteps({
    steps: deploy.steps,
    samples,
    stepTables: deployStepTables(opts.runbook, plans),
    predictions,
    indexes,
    sourceMemory,
  });
  const projection = toProjection(projected);
  run.warnings.push(...projectionNotes(projected).map((n) => `projection: ${n}`));
  const steps = stepReports(deploy, projected, predictions);
  return { clone, deploy, rollback, rollbackVerified, schemaDiff, steps, projection, drill };
}

/** 1. Copy a sample, unless the staging database already holds the tables (then compare their sizes). */
async function copyIntoSandbox(
  run: Rehearsal,
  sb: Sandbox,
  sbPool: pg.Pool,
): Promise<{ clone: CloneResult | null; samples: SizeSample[] }> {
  const { opts, log, ident } = run;
  const present = sb.existing ? await presentTables(sbPool, run.names) : 0;
  if (sb.existing && present > 0) {
    log(`the staging database already has the tables: rehearsing on its data as is`);
    return { clone: null, samples: await compareSizes(run.source, sbPool, run.names) };
  }
  const bin = run.schemaSource ?? (await chooseSchemaSource(ident.major, opts.schemaFrom, opts.pgDump));
  log(`copying a ${run.samplePct}% sample from the source (read-only)`);
  const clone = await cloneSample(
    {
      sourceUrl: run.sourceUrl,
      sandboxUrl: sb.url,
      sourceMajor: ident.major,
      tableNames: run.names,
      samplePct: run.samplePct,
      sampleMethod: opts.sampleMethod,
      pgDump: opts.pgDump,
      log,
    },
    bin,
  );
  run.warnings.push(...clone.warnings);
  return { clone, samples: clone.tables };
}

/** 2. Deploy, traced (and drilled). */
async function traceDeploy(
  run: Rehearsal,
  sandboxUrl: string,
  runbook: Runbook,
  plans: Map<string, StepPlan | undefined>,
  tables: string[],
): Promise<{ deploy: PhaseTrace; drill: DrillOutcome[] | null }> {
  const { opts, warnings } = run;
  const drill = opts.drill ? new Drill({ sandboxUrl, runbook, plans, ...opts.drillOptions }) : undefined;
  let samplerIndex: { lockerPid: number | null; sentAt: number }[] = [];
  let intervalMs = opts.sampleIntervalMs ?? 25;
  run.log(`deploy phase in the sandbox${drill ? ' (drill: faults will be injected)' : ''}`);
  let deploy: PhaseTrace;
  try {
    deploy = await tracePhase({
      newRunner: opts.newRunner,
      runbook,
      sandboxUrl,
      phase: 'deploy',
      tables,
      listeners: opts.listeners,
      sampleIntervalMs: opts.sampleIntervalMs,
      signal: opts.signal,
      onRunner: async (runner, sampler) => {
        intervalMs = sampler.intervalMs;
        runner.bus.on((e) => {
          if (e.type === 'run.completed' || e.type === 'run.failed') {
            samplerIndex = sampler.samples.flatMap((s) => s.index.map((i) => ({ lockerPid: i.lockerPid, sentAt: s.sentAt })));
          }
        });
        await drill?.attach(runner, sampler);
      },
    });
  } finally {
    await drill?.finish();
  }
  if (drill) warnings.push('drill mode: step times include the injected faults, so the projection overstates the real deploy');
  if (deploy.status !== 'completed') warnings.push(`the deploy phase ${deploy.status} in the sandbox: ${deploy.error ?? ''}`.trim());
  return { deploy, drill: drill ? drill.outcomes(deploy, samplerIndex, intervalMs) : null };
}

/** 3. Rollback, traced, then: is the schema back where it started? */
async function traceRollback(
  run: Rehearsal,
  sandboxUrl: string,
  runbook: Runbook,
  tables: string[],
  sbPool: pg.Pool,
  before: Awaited<ReturnType<typeof schemaSnapshot>>,
): Promise<Pick<RehearsalResult, 'rollback' | 'schemaDiff' | 'rollbackVerified'>> {
  const { opts } = run;
  run.log('rollback phase in the sandbox');
  const rollback = await tracePhase({
    newRunner: opts.newRunner,
    runbook,
    sandboxUrl,
    phase: 'rollback',
    tables,
    listeners: opts.listeners,
    sampleIntervalMs: opts.sampleIntervalMs,
    signal: opts.signal,
  });
  const after = await schemaSnapshot(sbPool);
  const schemaDiff = diffSchemas(before, after);
  const rollbackVerified = rollback.status === 'completed' && schemaDiff.same;
  if (!rollbackVerified) {
    run.warnings.push(
      rollback.status !== 'completed'
        ? `the rollback phase ${rollback.status}: ${rollback.error ?? ''}`.trim()
        : `the rollback left the schema different from where it started (${schemaDiff.added.length} added, ${schemaDiff.removed.length} removed)`,
    );
  }
  return { rollback, schemaDiff, rollbackVerified };
}

/** The table whose size drives each deploy step (normalized), by step id. */
function deployStepTables(runbook: Runbook, plans: Map<string, StepPlan | undefined>): Map<string, string | null> {
  const stepTables = new Map<string, string | null>();
  for (const s of runbook.phases.deploy) {
    const p = s.params as { table?: unknown };
    const plan = plans.get(s.id);
    const t = typeof p?.table === 'string' ? p.table : (plan?.locks[0]?.relation ?? null);
    stepTables.set(s.id, t ? normRel(t) : null);
  }
  return stepTables;
}

function stepReports(
  deploy: PhaseTrace,
  projected: StepProjection[],
  predictions: Map<string, PredictedLocks | null>,
): RehearsalStepReport[] {
  return deploy.steps.map((s) => {
    const p = projected.find((x) => x.id === s.stepId);
    const pred = predictions.get(s.stepId) ?? null;
    return {
      stepId: s.stepId,
      kind: s.kind,
      title: s.title,
      status: s.status,
      observed: s.locks,
      predicted: pred,
      comparison: compareLocks(s.locks, pred),
      rewrite: s.rewrites.length > 0,
      sampleSeconds: s.durationMs / 1000,
      projectedSeconds: p?.seconds ?? 0,
      lowSeconds: p?.lowSeconds ?? 0,
      highSeconds: p?.highSeconds ?? 0,
      basis: p?.basis ?? 'not run',
      walBytes: s.walBytes,
      retries: s.retries,
      rows: s.rows,
    };
  });
}

async function presentTables(db: pg.Pool, names: string[]): Promise<number> {
  let n = 0;
  for (const name of names) {
    const r = await db.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [name]).catch(() => ({ rows: [{ ok: false }] }));
    if (r.rows[0]?.ok) n++;
  }
  return n;
}

/** A staging copy: its sizes against the source's, from both catalogs. */
async function compareSizes(source: pg.Pool, sandbox: pg.Pool, names: string[]): Promise<SizeSample[]> {
  const src = await resolveTableSet(source, names);
  const sb = await resolveTableSet(sandbox, names);
  return src.tables.map((t) => {
    const s = sb.tables.find((x) => x.schema === t.schema && x.name === t.name);
    return {
      table: t.display,
      sourceRows: t.rowsEstimate,
      sourceBytes: t.heapBytes,
      sampleRows: s?.rowsEstimate ?? 0,
      sampleBytes: s?.heapBytes ?? 0,
    };
  });
}
