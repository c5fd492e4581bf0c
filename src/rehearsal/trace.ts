// Runs one phase of the runbook in the sandbox through the real runner, and traces it: locks the
// runner's sessions hold or wait for (sampler + in-transaction DDL capture), rewrites (relfilenode
// before/after and the table_rewrite event), WAL bytes and duration per step, retries, throttles.
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';
import { PolicyGates } from '../engine/gates.js';
import type { Listener, RunEvent } from '../engine/events.js';
import type { Runner, RunnerFactory } from '../engine/runner.js';
import { resolveConnection } from '../pg/connection.js';
import type { PhaseName, Runbook } from '../runbook/model.js';
import { installDdlCapture, readCapturedLocks, readCapturedRewrites } from './ddl-capture.js';
import { LockSampler, type Mark } from './lock-sampler.js';
import { normRel } from './relation-names.js';
import type { ObservedLock, PhaseTrace, StepTrace } from './rehearsal-types.js';
import { watchSession } from '../pg/stall-watchdog.js';

/** Steps that update rows in many short transactions: the sampler backs off during them (lockSampler.ts). */
const ROW_WORK_KINDS = new Set(['backfill']);

export interface TraceOptions {
  /** The composition root's runner factory (step kinds and adapters bound). */
  newRunner: RunnerFactory;
  runbook: Runbook;
  sandboxUrl: string;
  phase: Extract<PhaseName, 'deploy' | 'rollback'>;
  /** Qualified names of the tables whose relfilenode is watched. */
  tables: string[];
  sampleIntervalMs?: number;
  /** Listeners on the sandbox runner's bus (the CLI renderer, the drill...). */
  listeners?: Listener[];
  /** Called once the runner exists (the drill attaches to it). */
  onRunner?: (runner: Runner, sampler: LockSampler) => void | Promise<void>;
  signal?: AbortSignal;
}

export async function tracePhase(opts: TraceOptions): Promise<PhaseTrace> {
  const admin = new pg.Client({ ...clientConfig(opts.sandboxUrl), application_name: 'pgrunbook-rehearsal:setup' });
  watchSession(admin, opts.sandboxUrl);
  await admin.connect();
  try {
    const ddlCapture = await installDdlCapture(admin).catch(() => false);
    const events: RunEvent[] = [];
    const runner = opts.newRunner({
      runbook: opts.runbook,
      connection: resolveConnection(opts.sandboxUrl),
      // A sandbox: every gate is approved; questions with choices (retries exhausted) are not.
      gates: new PolicyGates({ yes: true, allowIrreversible: true, user: 'rehearsal' }),
      nonInteractive: true,
      sandbox: true,
      phases: [opts.phase],
      journalDir: null,
    });
    const appPrefix = `pgrunbook:${runner.runId}`;
    const sampler = new LockSampler(opts.sandboxUrl, { appPrefix, tables: opts.tables, intervalMs: opts.sampleIntervalMs });
    runner.bus.on((e) => {
      events.push(e);
      if (e.type === 'step.started') {
        sampler.mark(`${e.stepId}:start`);
        sampler.currentStep = e.stepId;
        sampler.rowWork = ROW_WORK_KINDS.has(e.kind);
      } else if (e.type === 'step.completed' || e.type === 'step.failed') {
        sampler.currentStep = null;
        sampler.rowWork = false;
        sampler.mark(`${e.stepId}:end`);
      }
    });
    for (const l of opts.listeners ?? []) runner.bus.on(l);
    const onAbort = () => runner.abort('rehearsal cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    await sampler.start();
    await opts.onRunner?.(runner, sampler);
    const t0 = Date.now();
    let outcome;
    try {
      outcome = await runner.run();
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      await sampler.stop();
    }
    const durationMs = Date.now() - t0;
    const captured = ddlCapture ? await readCapturedLocks(admin, appPrefix) : [];
    const rewrites = ddlCapture ? await readCapturedRewrites(admin, appPrefix) : [];
    const marks = new Map<string, Mark | undefined>();
    for (const [k, p] of sampler.marks) marks.set(k, await p);
    const steps = buildSteps(opts.runbook, opts.phase, events, sampler, marks, captured, rewrites);
    return {
      phase: opts.phase,
      runId: runner.runId,
      status: outcome.status,
      error: outcome.error?.message,
      durationMs,
      steps,
      ddlCapture,
      samples: sampler.samples.length,
      sampleIntervalMs: sampler.intervalMs,
    };
  } finally {
    await admin.end().catch(() => {});
  }
}

interface Window {
  stepId: string;
  kind: string;
  title: string;
  start: number;
  end: number | null;
  status: StepTrace['status'];
  durationMs: number;
  error?: string;
  sqlstate?: string;
}

/** What buildSteps reads for every step of one phase. */
interface PhaseRecord {
  runbook: Runbook;
  phase: PhaseName;
  events: RunEvent[];
  sampler: LockSampler;
  marks: Map<string, Mark | undefined>;
  captured: { atMs: number; relation: string; mode: string }[];
  rewrites: { atMs: number; relation: string }[];
}

function buildSteps(
  runbook: Runbook,
  phase: PhaseName,
  events: RunEvent[],
  sampler: LockSampler,
  marks: Map<string, Mark | undefined>,
  captured: { atMs: number; relation: string; mode: string }[],
  rewrites: { atMs: number; relation: string }[],
): StepTrace[] {
  const rec: PhaseRecord = { runbook, phase, events, sampler, marks, captured, rewrites };
  const { windows, order } = stepWindows(events);
  // Steps the runbook lists for the phase that never started (a failure before them).
  if (phase === 'deploy') for (const s of runbook.phases.deploy) if (!windows.has(s.id)) order.push(s.id);

  const offset = sampler.clockOffsetMs();
  const stepAtServer = (serverMs: number): string | undefined => {
    const local = serverMs - offset;
    for (const w of windows.values()) if (local >= w.start - 5 && local <= (w.end ?? Infinity) + 5) return w.stepId;
    return undefined;
  };

  return order.map((id) => {
    const w = windows.get(id);
    const trace = emptyTrace(rec, id, w);
    if (!w) return trace;
    traceLocks(rec, trace, stepAtServer);
    traceRewrites(rec, trace, w, stepAtServer);
    traceEvents(rec, trace, w);
    return trace;
  });
}

/** When each step ran and how it ended, from the runner's events, in the order the steps started. */
function stepWindows(events: RunEvent[]): { windows: Map<string, Window>; order: string[] } {
  const windows = new Map<string, Window>();
  const order: string[] = [];
  for (const e of events) {
    if (e.type === 'step.started') {
      windows.set(e.stepId, { stepId: e.stepId, kind: e.kind, title: e.title, start: at(e), end: null, status: 'not-run', durationMs: 0 });
      if (!order.includes(e.stepId)) order.push(e.stepId);
    } else if (e.type === 'step.completed' || e.type === 'step.failed') {
      const w = windows.get(e.stepId);
      if (!w) continue;
      w.end = at(e);
      w.durationMs = e.durationMs;
      w.status = e.type === 'step.completed' ? 'completed' : 'failed';
      if (e.type === 'step.failed') {
        w.error = e.error;
        w.sqlstate = e.sqlstate;
      }
    }
  }
  return { windows, order };
}

const at = (e: RunEvent) => Date.parse(e.at);

function emptyTrace(rec: PhaseRecord, id: string, w: Window | undefined): StepTrace {
  const { runbook, phase } = rec;
  const spec = runbook.phases[phase].find((s) => s.id === id) ?? runbook.phases.deploy.find((s) => `undo:${s.id}` === id);
  return {
    phase,
    stepId: id,
    kind: w?.kind ?? spec?.kind ?? '?',
    title: w?.title ?? spec?.title ?? id,
    status: w?.status ?? 'not-run',
    startedAt: w?.start ?? null,
    endedAt: w?.end ?? null,
    durationMs: w?.durationMs ?? 0,
    locks: [],
    rewrites: [],
    walBytes: null,
    retries: 0,
    retryDelayMs: 0,
    throttles: [],
    rows: null,
    batchRates: [],
    batches: 0,
    indexPhases: {},
    blockedBy: [],
    error: w?.error,
    sqlstate: w?.sqlstate,
  };
}

/** Locks the sampler saw while the step ran (and how long they waited), plus those the DDL capture recorded. */
function traceLocks(rec: PhaseRecord, trace: StepTrace, stepAtServer: (serverMs: number) => string | undefined): void {
  const { sampler } = rec;
  const id = trace.stepId;
  const stepSamples = sampler.samples.filter((s) => s.stepAtSend === id && s.stepAtRecv === id);
  const locks = new Map<string, ObservedLock>();
  const note = (relation: string, mode: string, granted: boolean, by: 'sampler' | 'ddl-capture', waitedMs = 0) => {
    const key = `${normRel(relation)}|${mode}`;
    const l = locks.get(key) ?? { relation: normRel(relation), mode, granted: false, seenBy: [], waitedMs: 0 };
    l.granted ||= granted;
    if (!l.seenBy.includes(by)) l.seenBy.push(by);
    l.waitedMs += waitedMs;
    locks.set(key, l);
  };
  const blockers = new Set<number>();
  // Real spacing of samples (a sample takes time too), to turn sample counts into durations.
  const all = sampler.samples;
  const every = all.length > 1 ? (all[all.length - 1]!.sentAt - all[0]!.sentAt) / (all.length - 1) : sampler.intervalMs;
  for (const s of stepSamples) {
    for (const l of s.locks) {
      note(l.relation, l.mode, l.granted, 'sampler', l.granted ? 0 : every);
      for (const b of l.blockers) blockers.add(b);
    }
    for (const i of s.index) trace.indexPhases[i.phase] = Math.round((trace.indexPhases[i.phase] ?? 0) + every);
  }
  for (const c of rec.captured) if (stepAtServer(c.atMs) === id) note(c.relation, c.mode, true, 'ddl-capture');
  trace.locks = [...locks.values()];
  trace.blockedBy = [...blockers];
}

/** WAL written and relations rewritten during the step: boundary marks first (taken the moment the step started / ended); samples as a fallback. */
function traceRewrites(rec: PhaseRecord, trace: StepTrace, w: Window, stepAtServer: (serverMs: number) => string | undefined): void {
  const { sampler, marks } = rec;
  const id = trace.stepId;
  const before = marks.get(`${id}:start`) ?? sampler.before(w.start);
  const after = marks.get(`${id}:end`) ?? (w.end !== null ? sampler.after(w.end) : undefined);
  if (before && after) {
    trace.walBytes = Number(after.lsn - before.lsn);
    for (const [rel, fn] of Object.entries(before.files)) {
      if (after.files[rel] !== undefined && after.files[rel] !== fn) trace.rewrites.push({ relation: normRel(rel), how: 'relfilenode' });
    }
  }
  for (const r of rec.rewrites) {
    if (stepAtServer(r.atMs) === id && !trace.rewrites.some((x) => x.relation === normRel(r.relation))) {
      trace.rewrites.push({ relation: normRel(r.relation), how: 'table_rewrite' });
    }
  }
}

/** Statements, retries, throttles, rows and batch rates, from the step's own events. */
function traceEvents(rec: PhaseRecord, trace: StepTrace, w: Window): void {
  const id = trace.stepId;
  const statements: NonNullable<StepTrace['statements']> = [];
  const progress: NonNullable<StepTrace['progress']> = [];
  for (const e of rec.events) {
    if (!('stepId' in e) || e.stepId !== id) continue;
    if (e.type === 'step.sql' && e.ok) statements.push({ sql: e.sql, durationMs: e.durationMs, rowCount: e.rowCount });
    if (e.type === 'step.progress' && e.progress.kind === 'backfill') progress.push({ atMs: at(e) - w.start, rows: e.progress.rowsDone });
    if (e.type === 'step.retry') {
      trace.retries++;
      trace.retryDelayMs += e.delayMs;
    } else if (e.type === 'step.throttle') trace.throttles.push({ reason: e.reason, detail: e.detail, at: Date.parse(e.at) });
    else if (e.type === 'step.sql' && e.ok && e.rowCount && /^\s*(with\b[\s\S]*\b)?(update|delete|insert|merge)\b/i.test(e.sql)) {
      // Plain DML steps (sql: UPDATE ...): the rows they changed drive their cost.
      trace.rows = (trace.rows ?? 0) + e.rowCount;
    } else if (e.type === 'step.progress' && e.progress.kind === 'backfill') {
      trace.rows = e.progress.rowsDone;
      if (e.progress.batches > trace.batches && e.progress.lastBatchMs > 0) {
        trace.batchRates.push((e.progress.batchSize * 1000) / e.progress.lastBatchMs);
      }
      trace.batches = e.progress.batches;
    }
  }
  if (statements.length) trace.statements = statements;
  if (progress.length) trace.progress = thin(progress, 240);
}

/** At most `max` points, first and last kept: a long sandbox backfill must not grow the trace without bound. */
function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const step = (xs.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => xs[Math.round(i * step)]!);
}
