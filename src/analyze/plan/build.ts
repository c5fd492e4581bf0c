// buildPlan: introspection + analysis of every step against the live server, read only.
// Each step's plan() (from its kind) says what SQL it will run; the analyzer predicts the locks,
// rewrites and scans of that SQL (one schema state across the steps, so a NOT VALID check added
// in one step is known to the next); sizes come from pg_class / pg_stat (never count(*)).
import type pg from 'pg';
import { PHASES, type PhaseName, type Runbook, type StepSpec } from '../../runbook/model.js';
import { createdByEarlierStep, stepsBefore } from '../../runbook/created-tables.js';
import type { PlannedLock } from '../../pg/lock-modes.js';
import type { PlannedCopy, PlannedWork, StepKinds, StepPlan } from '../../engine/step-kind.js';
import { gateLevel } from '../../engine/gate-level.js';
import { LiveCatalog } from '../live-catalog.js';
import { serverFacts } from '../../pg/server-facts.js';
import { planTableFacts, type PlanTableFacts } from '../../pg/catalog/plan-table-facts.js';
import { loadParser, parseStatements } from '../../pg/sqlparse.js';
import { splitName } from '../ast.js';
import { analyzeSql } from '../analyze-statements.js';
import { SchemaState } from '../schema-state.js';
import { LOCK_STRENGTH } from '../../pg/lock-modes.js';
import { readOnly } from './plan-read-only.js';
import {
  estimateBackfill,
  estimateCopy,
  estimateStatement,
  estimateText,
  estimateWork,
  fmtDuration,
  measureReadRate,
  sumEstimates,
  type ReadRate,
} from './estimate.js';
import { headOf, serverWarnings, stepWarnings } from './warnings.js';
import { earlierChanges } from './earlier-steps.js';
import type { Estimate, Plan, PlanStatement, PlanStep, PlanTable } from './plan-types.js';
import { applyRehearsal, latestRehearsal, rehearsalText } from './rehearsal-projection.js';

export interface BuildPlanOptions {
  runbook: Runbook;
  /** Pool on the target. Introspection runs in READ ONLY transactions on it. */
  pool: pg.Pool;
  serverVersionNum?: number;
  /** Which phases to plan (default: all). */
  phases?: PhaseName[];
  /** Time one backfill batch in a rolled-back transaction (default true). */
  timeBatches?: boolean;
  /** Measure the read rate of touched tables on a block sample (default true). */
  measureReads?: boolean;
  /** Run squawk on each step's SQL (default false: plan favours speed; `analyze` runs it). */
  squawk?: boolean;
  kinds: StepKinds;
  target?: { database: string; host: string; user: string };
  /** Long-running transaction threshold, seconds (default 60). */
  longTxSeconds?: number;
}

export async function buildPlan(opts: BuildPlanOptions): Promise<Plan> {
  await loadParser();
  const { runbook, pool } = opts;
  const ro = readOnly(pool, { lockTimeoutMs: 1000 });
  const server = await serverFacts(ro, { longTxSeconds: opts.longTxSeconds });
  const versionNum = opts.serverVersionNum ?? server.versionNum;
  const catalog = new LiveCatalog(ro);
  const env = { ro, versionNum, runbook, state: new SchemaState(catalog), squawk: !!opts.squawk, timeZone: server.timeZone };
  const steps = await planSteps(opts.phases ?? [...PHASES], opts.kinds, env);
  const sized = await sizeTables(ro, steps);
  const rates = opts.measureReads === false ? new Map<string, ReadRate>() : await measureRates(ro, steps, sized, versionNum);
  const all = PHASES.flatMap((p) => runbook.phases[p]);
  const roundTrip = await timeRoundTrip(pool);
  for (const s of steps) {
    const spec = runbook.phases[s.phase].find((x) => x.id === s.id)!;
    const earlier = stepsBefore(all, spec);
    await estimateStep(s, spec, sized, rates, {
      pool,
      ro,
      catalog,
      versionNum,
      timeBatches: opts.timeBatches !== false,
      earlier,
      readsMeasured: opts.measureReads !== false,
    });
    addStepRoundTrips(s, roundTrip);
    s.warnings.push(...stepWarnings(s, sized.byName));
  }
  const deploy = steps.filter((s) => s.phase === 'deploy');
  const rehearsal = deploy.length ? await projectedByRehearsal(ro, runbook, deploy) : {};
  return {
    runbook: { name: runbook.name, file: runbook.file, ...(runbook.description ? { description: runbook.description } : {}) },
    generatedAt: new Date().toISOString(),
    target: opts.target ?? { database: '', host: '', user: '' },
    server,
    tables: sized.tables,
    missingTables: sized.missingTables,
    steps,
    warnings: serverWarnings(server, sized.tables, steps),
    ...(deploy.length ? { deployEstimate: deployEstimate(deploy, rehearsal) } : {}),
    ...rehearsal,
    readRates: Object.fromEntries([...rates].map(([k, v]) => [k, Math.round(v.bytesPerSecond)])),
  };
}

/**
 * Round trips a run makes for one step besides its statements' own (gate evidence, the run-state
 * writes of its start and end, settings): counted 11 for a one-statement sql step, 21 for add_check
 * and 28 for not_null in a run on PostgreSQL 17. Two per statement are added to these.
 */
const STEP_ROUND_TRIPS = 20;

/** One round trip to the server, ms: the median of five, each after an idle pause, as a run's round trips come (on a busy host each waits for a CPU). */
async function timeRoundTrip(pool: pg.Pool): Promise<number> {
  const c = await pool.connect();
  try {
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const t0 = performance.now();
      await c.query('SELECT 1');
      ms.push(performance.now() - t0);
    }
    return ms.sort((a, b) => a - b)[2]!;
  } finally {
    c.release();
  }
}

/** A step that moves rows also pays its round trips: added to its estimate, three times over at the high end (a round trip's wait for a CPU varies). */
function addStepRoundTrips(s: PlanStep, roundTripMs: number): void {
  const e = s.estimate;
  if (!e || e.seconds === 0) return;
  const trips = STEP_ROUND_TRIPS + 2 * s.statements.length;
  const sec = (trips * roundTripMs) / 1000;
  s.estimate = {
    seconds: e.seconds + sec,
    low: e.low,
    high: e.high + 3 * sec,
    basis: `${e.basis}; plus ~${trips} round trips of the step's own (settings, gate evidence, run-state writes) at ${roundTripMs.toFixed(1)} ms each (timed now, each after an idle pause; up to 3x that at the high end)`,
  };
}

/** Deploy steps take a stored rehearsal's projection (same runbook text and variables) over the size-based estimate. */
async function projectedByRehearsal(
  ro: ReturnType<typeof readOnly>,
  runbook: Runbook,
  deploy: PlanStep[],
): Promise<Pick<Plan, 'rehearsal' | 'rehearsalSetAside'>> {
  const stored = await latestRehearsal(ro, runbook);
  if (!stored) return {};
  const source = { at: stored.at, samplePct: stored.samplePct, sandbox: stored.sandbox };
  if (stored.expired) return { rehearsalSetAside: { ...source, why: stored.expired } };
  return { rehearsal: { ...source, allSteps: applyRehearsal(deploy, stored) } };
}

function deployEstimate(
  deploy: PlanStep[],
  { rehearsal, rehearsalSetAside: aside }: Pick<Plan, 'rehearsal' | 'rehearsalSetAside'>,
): Estimate | undefined {
  const sum = sumEstimates(deploy.map((s) => s.estimate));
  if (sum && aside) sum.basis = `size-based: ${rehearsalText(aside).replace('projected by ', '')} is set aside because ${aside.why}`;
  if (sum && rehearsal)
    sum.basis = rehearsal.allSteps
      ? rehearsalText(rehearsal)
      : `${rehearsalText(rehearsal)} for some steps, size-based for the others (see each step)`;
  return sum;
}

/** Plans every step of the chosen phases in runbook order (one schema state across them). */
async function planSteps(phases: PhaseName[], kinds: StepKinds, env: Omit<StepEnv, 'earlier'>): Promise<PlanStep[]> {
  const all = PHASES.flatMap((p) => env.runbook.phases[p]);
  const steps: PlanStep[] = [];
  for (const phase of PHASES.filter((p) => phases.includes(p))) {
    for (const step of env.runbook.phases[phase]) {
      steps.push(await planStep(step, phase, kinds, { ...env, earlier: stepsBefore(all, step) }));
    }
  }
  return steps;
}

interface SizedTables {
  tables: PlanTable[];
  missingTables: string[];
  /** TableFacts by their catalog name. */
  byName: Map<string, PlanTableFacts>;
  /** A step's relation name → TableFacts.name. */
  factsName: Map<string, string>;
  /** Why a table's read could not be timed, as the server said (filled when read rates are measured). */
  unread: Map<string, string>;
}

const OWN_STATE = /^"?pgrunbook"?\./;

/** Sizes of every relation a step locks or works on, from its own plan and from the analysis. */
async function sizeTables(ro: ReturnType<typeof readOnly>, steps: PlanStep[]): Promise<SizedTables> {
  const touched = new Map<string, Set<string>>();
  for (const s of steps) {
    for (const l of [...s.locks, ...(s.work ?? [])]) {
      if ((l as { relkind?: string }).relkind === 'index') continue;
      if (!touched.has(l.relation)) touched.set(l.relation, new Set());
      touched.get(l.relation)!.add(s.id);
    }
  }
  const tables: PlanTable[] = [];
  const missingTables: string[] = [];
  const factsName = new Map<string, string>();
  for (const [name, by] of touched) {
    // pgrunbook's own state (a backfill's cursor row): the step lists the lock, but it is not a
    // table of the operator's change to size, nor missing before the first run creates it.
    if (OWN_STATE.test(name)) continue;
    const facts = await planTableFacts(ro, qualifiedFor(name)).catch(() => undefined);
    if (!facts) {
      missingTables.push(name);
      continue;
    }
    factsName.set(name, facts.name);
    if ((facts.relkind !== 'r' && facts.relkind !== 'p' && facts.relkind !== 'm') || facts.systemCatalog) continue;
    const known = tables.find((t) => t.name === facts.name);
    if (known) known.touchedBy.push(...by);
    else tables.push({ ...facts, touchedBy: [...by] });
  }
  return { tables, missingTables, factsName, byName: new Map(tables.map((t) => [t.name, t])), unread: new Map() };
}

const SIZED_WORK = ['scan', 'index-build', 'rewrite', 'rows'];

/** Read rates of the tables whose size drives a statement's or a step's work (block samples). */
async function measureRates(
  ro: ReturnType<typeof readOnly>,
  steps: PlanStep[],
  sized: SizedTables,
  versionNum: number,
): Promise<Map<string, ReadRate>> {
  const needed = new Set([
    ...steps.flatMap((s) =>
      s.statements.flatMap((st) => (st.analysis && SIZED_WORK.includes(st.analysis.work) ? st.analysis.sizeDriver : [])),
    ),
    ...steps.flatMap((s) => (s.work ?? []).map((w) => sized.factsName.get(w.relation) ?? w.relation)),
  ]);
  const rates = new Map<string, ReadRate>();
  for (const name of needed) {
    const t = sized.byName.get(name);
    const r = t ? await measureReadRate(ro, t, versionNum) : undefined;
    if (r && 'error' in r) sized.unread.set(name, r.error);
    else if (r) rates.set(name, r);
  }
  return rates;
}

/**
 * What a step's estimate is made of, in the operator's words: each statement or unit of work that
 * reads or moves rows with its own figure and basis, and the statements of no size-dependent work in one clause.
 */
function stepBasis(s: PlanStep): string {
  const parts: string[] = [];
  let catalog = 0;
  let lockWait = 0;
  for (const st of s.statements) {
    if (!st.estimate) continue;
    if (st.estimate.seconds === 0) {
      catalog++;
      lockWait += st.estimate.high;
    } else parts.push(`${headOf(st.sql)}: ${estimateText(st.estimate)} (${st.estimate.basis})`);
  }
  for (const w of s.work ?? [])
    parts.push(`${w.description}: ${w.estimate ? `${estimateText(w.estimate)} (${w.estimate.basis})` : 'not sized'}`);
  if (catalog)
    parts.push(
      `${catalog} statement${catalog === 1 ? '' : 's'} whose time does not grow with the table (catalog changes, index lookups): instant once locked (the high end includes up to ${fmtDuration(lockWait)} waiting for locks)`,
    );
  return parts.join('; ');
}

interface EstimateEnv {
  pool: pg.Pool;
  ro: ReturnType<typeof readOnly>;
  catalog: LiveCatalog;
  versionNum: number;
  timeBatches: boolean;
  /** The runbook's steps before this one: what they do to a table a copy reads. */
  earlier: StepSpec[];
  /** Whether plan timed reads of the tables (off: statements get no size-based estimate). */
  readsMeasured: boolean;
}

/** Fills in the estimates of a planned step: per statement, per unit of work, and the step's own. */
async function estimateStep(
  s: PlanStep,
  spec: StepSpec,
  sized: SizedTables,
  rates: Map<string, ReadRate>,
  env: EstimateEnv,
): Promise<void> {
  if (s.nothingToDo) {
    s.estimate = { seconds: 0, low: 0, high: 0, basis: s.nothingToDo };
    return;
  }
  const lockWait = { lockTimeoutMs: spec.settings.lockTimeoutMs, retries: spec.settings.ddlRetries };
  for (const st of s.statements) {
    if (!st.analysis) continue;
    st.estimate = estimateStatement(st.analysis, sized.byName, rates, lockWait);
    if (!st.estimate && SIZED_WORK.includes(st.analysis.work))
      s.notes.push(`no duration estimate for ${headOf(st.sql)}: ${unmeasuredReasons(st.analysis.sizeDriver, sized, env.readsMeasured)}`);
  }
  s.work?.push(...foreignKeyValidations(s.work, env.earlier));
  for (const w of s.work ?? []) w.estimate = await estimateUnit(w, s, sized, rates, env);
  if (s.kind === 'backfill' && !s.error && env.timeBatches) {
    const standIn = await standInColumn(env.catalog, spec);
    const e = await estimateBackfill(env.pool, env.ro, spec, { column: standIn });
    if ('error' in e) s.notes.push(`no duration estimate: ${e.error}`);
    else s.estimate = e;
    return;
  }
  if (s.kind === 'backfill' && !env.timeBatches) {
    s.notes.push('no duration estimate: batch timing is off (--no-time-batch)');
    return;
  }
  s.estimate = sumEstimates([...s.statements.map((x) => x.estimate), ...(s.work ?? []).map((x) => x.estimate)]);
  const unsized = (s.work ?? []).filter((x) => !x.estimate);
  if (s.estimate) s.estimate.basis = stepBasis(s);
  if (unsized.length) s.notes.push(`no size-based estimate for: ${unsized.map((x) => `${x.description} (${x.relation})`).join('; ')}`);
}

interface StepEnv {
  ro: ReturnType<typeof readOnly>;
  versionNum: number;
  runbook: Runbook;
  state: SchemaState;
  squawk: boolean;
  timeZone: string;
  /** Steps of the runbook before this one (phase order), for tables they create. */
  earlier: StepSpec[];
}

async function planStep(step: StepSpec, phase: PhaseName, kinds: StepKinds, env: StepEnv): Promise<PlanStep> {
  const base: PlanStep = {
    phase,
    id: step.id,
    kind: step.kind,
    title: step.title ?? step.id,
    ...(step.why ? { why: step.why } : {}),
    gate: step.gate ?? 'confirm',
    reversible: false,
    statements: [],
    locks: [],
    notes: [],
    warnings: [],
  };
  const kind = kinds.get(step.kind);
  if (!kind) return { ...base, error: `unknown step kind "${step.kind}"` };
  let sp: StepPlan;
  const extraNotes: string[] = [];
  try {
    sp = await kind.plan(step, { db: env.ro, serverVersionNum: env.versionNum, runbook: env.runbook });
  } catch (err: any) {
    // A kind whose own live checks write (even in a rolled-back transaction) cannot run them under
    // plan's READ ONLY transactions, and a table an earlier step creates is not there yet: plan it
    // offline; the analyzer still reads the live catalog.
    const createdEarlier =
      err?.sqlstate === '42P01' && createdByEarlierStep(String((step.params as { table?: unknown })?.table ?? ''), env.earlier);
    if (err?.code !== '25006' && !createdEarlier) return { ...base, error: err?.message ?? String(err) };
    try {
      sp = await kind.plan(step, { serverVersionNum: env.versionNum, runbook: env.runbook });
      extraNotes.push(
        createdEarlier
          ? `the table is created by an earlier step: this step was planned without it`
          : `the ${step.kind} step's own live checks need to write, which plan never does: its SQL was planned offline and analyzed against the live catalog`,
      );
    } catch (err2) {
      return { ...base, error: (err2 as Error)?.message ?? String(err2) };
    }
  }
  const out: PlanStep = {
    ...base,
    gate: gateLevel(step, kind, sp),
    reversible: sp.reversible,
    ...(sp.irreversibleReason ? { irreversibleReason: sp.irreversibleReason } : {}),
    notes: [...sp.notes, ...extraNotes],
    ...(sp.nothingToDo ? { nothingToDo: sp.nothingToDo } : {}),
    locks: [...sp.locks],
    ...(sp.work?.length ? { work: sp.work.map(withoutCopy) } : {}),
  };
  for (const st of sp.statements) out.statements.push(await analyzeStatementOfStep(st, step, env));
  out.locks = mergeLocks(
    out.locks,
    out.statements.flatMap((s) => s.analysis?.locks ?? []),
  );
  return out;
}

async function analyzeStatementOfStep(
  st: { sql: string; transactional: boolean; description?: string; internal?: boolean },
  step: StepSpec,
  env: StepEnv,
): Promise<PlanStatement> {
  const base: PlanStatement = { sql: st.sql, transactional: st.transactional, ...(st.description ? { description: st.description } : {}) };
  if (step.kind === 'shell' || step.kind === 'manual') return { ...base, notAnalyzed: 'not SQL' };
  let parsed;
  try {
    parsed = parseStatements(st.sql);
  } catch {
    return { ...base, notAnalyzed: 'not SQL the parser accepts (a description or a template)' };
  }
  if (parsed.length === 0) return { ...base, notAnalyzed: 'a description, not a statement' };
  const report = await analyzeSql(st.sql, {
    catalog: env.state.catalog,
    state: env.state,
    serverVersionNum: env.versionNum,
    versionSource: 'server',
    timeZone: env.timeZone,
    lockTimeout: true,
    squawk: env.squawk ? { exclude: ['require-lock-timeout', 'require-statement-timeout', 'prefer-robust-stmts'] } : false,
  });
  // One planned statement may hold several SQL statements (a swap in one transaction): merge them.
  const [first, ...rest] = report.statements;
  if (!first) return { ...base, notAnalyzed: 'empty' };
  for (const r of rest) {
    first.locks.push(...r.locks);
    first.rewrite ||= r.rewrite;
    first.tableScan ||= r.tableScan;
    first.findings.push(...r.findings);
    first.uncertain.push(...r.uncertain);
    first.notes.push(...r.notes);
    first.sizeDriver.push(...r.sizeDriver.filter((x) => !first.sizeDriver.includes(x)));
    first.transactional &&= r.transactional;
  }
  first.locks = mergeLocks([], first.locks) as typeof first.locks;
  // The kind's own procedure: its risks are the kind's notes, not lint on SQL the operator never wrote.
  if (st.internal) first.findings = [];
  return { ...base, analysis: first };
}

function mergeLocks<T extends PlannedLock>(a: T[], b: T[]): T[] {
  const out = new Map<string, T>();
  for (const l of [...a, ...b]) {
    const key = normalizeRel(l.relation);
    const cur = out.get(key);
    if (!cur || LOCK_STRENGTH[l.mode] > LOCK_STRENGTH[cur.mode]) out.set(key, { ...l, relation: cur?.relation ?? l.relation });
  }
  return [...out.values()];
}

/** "public"."orders", public.orders and orders name the same table for the usual search_path. */
function normalizeRel(name: string): string {
  const parts = splitName(name);
  return (parts.schema && parts.schema !== 'public' ? `${parts.schema}.` : '') + parts.name;
}

function qualifiedFor(name: string): string {
  const p = splitName(name);
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return p.schema ? `${q(p.schema)}.${q(p.name)}` : q(p.name);
}

/** A column of the backfill's table to rewrite in place when the target column does not exist yet. */
/** A unit of work's timed-copy recipe stays out of the plan (its JSON, its report): kept here for the estimate. */
const copies = new WeakMap<PlannedWork, PlannedCopy>();

function withoutCopy({ copy, ...w }: PlannedWork): PlannedWork {
  if (copy) copies.set(w, copy);
  return w;
}

/** A unit of work's estimate: a copy from timed sample batches when it can be sampled, else size-based. */
async function estimateUnit(w: PlannedWork, s: PlanStep, sized: SizedTables, rates: Map<string, ReadRate>, env: EstimateEnv) {
  const copy = copies.get(w);
  if (copy && env.timeBatches) {
    const e = await estimateCopy(env.pool, env.ro, copy, earlierChanges(copy, env.earlier));
    if (!('error' in e)) return e;
    s.notes.push(`the copy's estimate is size-based: ${e.error}`);
  }
  return estimateWork(w.work, [sized.factsName.get(w.relation) ?? w.relation], sized.byName, rates, 0);
}

/** Why no table driving a statement's work has a read rate: each table's own reason, as far as plan knows it. */
function unmeasuredReasons(names: string[], sized: SizedTables, readsMeasured: boolean): string {
  if (names.length === 0) return 'plan could not tell which table it works on';
  return names
    .map((name) => {
      const t = sized.byName.get(name);
      if (!t) return `${name} was not found in the database (plan sizes tables as they are now)`;
      if (t.tableBytes <= 0) return `${name} is empty (0 bytes)`;
      if (t.accessExclusiveNow) return `${name} was not read: an ACCESS EXCLUSIVE lock is held or waited for on it`;
      if (!readsMeasured) return `read rates were not measured on this plan`;
      const why = sized.unread.get(name);
      return why ? `${name} could not be read: ${why}` : `${name} could not be read`;
    })
    .join('; ');
}

/** A foreign key an earlier step adds to a copied table is on the shadow too: validated after the copy, a scan. */
function foreignKeyValidations(work: PlannedWork[], earlier: StepSpec[]): PlannedWork[] {
  return work.flatMap((w) => {
    const copy = copies.get(w);
    if (!copy) return [];
    return earlierChanges(copy, earlier).foreignKeys.map((id) => ({
      relation: w.relation,
      work: 'scan' as const,
      description: `VALIDATE on the shadow of the foreign key ${id} adds first`,
    }));
  });
}

async function standInColumn(catalog: LiveCatalog, step: StepSpec): Promise<string | undefined> {
  const table = (step.params as { table?: string })?.table;
  if (!table) return undefined;
  const p = splitName(table);
  const info = await catalog.relation(p.schema, p.name).catch(() => undefined);
  if (!info) return undefined;
  const pk = [...info.indexes.values()].find((i) => i.primary)?.columns ?? [];
  for (const c of info.columns.values()) if (!pk.includes(c.name) && !c.generated && !c.identity) return c.name;
  return undefined;
}
