// The runner: a state machine over phases and steps. It emits events, awaits gate decisions
// through a port, records every transition in pgrunbook.* so a run can be resumed from any
// machine, and holds the run lock for its whole life. No UI, no concrete adapter: the step kinds,
// the connection factory and the lock probe come in through RunnerOptions.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type pg from 'pg';
import { systemClock, type Clock } from '../util/clock.js';
import { RunControl } from './control.js';
import { AbortedError, RunbookError, RunLockHeldError, isAbort } from '../util/runbook-error.js';
import { EventBus, type EventOf, type Listener } from './events.js';
import { gateLevel, typedName } from './gate-level.js';
import type { BlockersProbe, ConnectionFactory } from './ports.js';
import { approversFor, journaledGates, type Evidence, type GatePort, type GateRequest } from './gates.js';
import { approvalGates } from './approval-gates.js';
import { currentIdentity, type Identity } from './operator-identity.js';
import { journalSession, type JournalSession } from './journal-session.js';
import { Journal } from './journal.js';
import { retryRecord } from './record-retry.js';
import { findLockHolder, lockHeldError, releaseRunLock, tryAcquireRunLock } from './run-lock.js';
import { ensureStateSchema } from './state-schema.js';
import * as store from './state-store.js';
import { SqlExecutor } from '../pg/executor.js';
import { explainConnectionError, type ConnectionSpec, type Target } from '../pg/connection.js';
import { PHASES, type GateLevel, type PhaseName, type Runbook, type StepSpec } from '../runbook/model.js';
import { createdByEarlierStep, stepsBefore } from '../runbook/created-tables.js';
import { LOCK_STRENGTH } from '../pg/lock-modes.js';
import type { StepContext, StepKind, StepKinds, StepPlan, StepState } from './step-kind.js';
import { storedVars } from '../runbook/secret-vars.js';

export const DEFAULT_PHASES: PhaseName[] = ['plan', 'test', 'deploy', 'monitor'];
/** How long a completed step waits for the journal before the run goes on (the journal keeps retrying). */
const STEP_JOURNAL_WAIT_MS = 5_000;
/** How long the end of a run waits for a journal that cannot write. */
const FINAL_JOURNAL_WAIT_MS = 30_000;

/** What one run is: the runbook, the target, the gate port, and how it runs. */
export interface RunnerSetup {
  runbook: Runbook;
  connection: ConnectionSpec;
  gates: GatePort;
  nonInteractive: boolean;
  /** Phases to run, in order. Default: plan, test, deploy, monitor (rollback only when asked). */
  phases?: PhaseName[];
  /** Continue this run instead of starting a new one. */
  resumeRunId?: string;
  /** What to do with steps that were in flight and cannot reconcile themselves. */
  inFlight?: Record<string, 'rerun' | 'skip'>;
  /** Directory for the local JSONL journal; null disables it. */
  journalDir?: string | null;
  /** How long the run waits for journal writes that keep failing, after each step and at its end (default 5 s and 30 s). */
  journalWaitMs?: number;
  clock?: Clock;
  identity?: Identity;
  /** Metrics snapshot journaled with each gate decision (e.g. from the monitor). */
  metrics?: () => Record<string, unknown> | undefined;
  listeners?: Listener[];
  /** Builds the deploy plan shown behind a gate before the deploy phase (the CLI passes the analyzer's). */
  deployPlan?: (ctx: { pool: pg.Pool; runbook: Runbook; serverVersionNum: number }) => Promise<DeployPlan>;
}

/** What the composition root binds once: the step kinds and the adapters. */
export interface RunnerDeps {
  kinds: StepKinds;
  connect: ConnectionFactory;
  /** Who holds locks on a step's tables, shown at its gate; none when absent. */
  blockersNow?: BlockersProbe;
}

export type RunnerOptions = RunnerSetup & RunnerDeps;

/** Builds a runner with the composition root's kinds and adapters (the rehearsal runs its sandbox with one). */
export type RunnerFactory = (setup: RunnerSetup) => Runner;

export interface DeployPlan {
  /** One line: steps, estimate, strongest lock. */
  summary: string;
  /** The whole plan as text lines (plain renderer, log, journal). */
  lines: string[];
  evidence: Evidence[];
}

export type RunStatus = 'completed' | 'failed' | 'aborted' | 'interrupted';

export interface RunOutcome {
  runId: string;
  /** What happened in the database, even when it could not all be recorded. */
  status: RunStatus;
  error?: Error;
  /** Set when the run's end or some of its events are not in pgrunbook.*: what is missing and what to do. */
  unrecorded?: string;
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export class Runner {
  readonly runId: string;
  readonly bus: EventBus;
  readonly control = new RunControl();
  private readonly abortController = new AbortController();
  private stopStatus: 'aborted' | 'interrupted' = 'aborted';
  private readonly clock: Clock;
  private readonly who: Identity;
  private pool?: pg.Pool;
  private journal?: Journal;
  private executor?: SqlExecutor;
  private serverVersionNum = 0;
  private rows = new Map<string, store.StepRow>();
  private previous?: store.RunRow;
  /** Every gate, the runner's own and those raised inside steps, is journaled through this port. */
  private readonly gates: GatePort;

  constructor(private readonly opts: RunnerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.who = opts.identity ?? currentIdentity();
    this.runId = opts.resumeRunId ?? newRunId(new Date(this.clock.now()));
    this.bus = new EventBus(this.runId, () => this.clock.now());
    for (const l of opts.listeners ?? []) this.bus.on(l);
    const approvals = approvalGates(opts.gates, {
      db: () => this.pool!,
      listenClient: () => opts.connect.client(`pgrunbook:${this.runId}:approvals`),
      runId: this.runId,
      operator: this.who,
      emit: (b) => void this.bus.emit(b),
      clock: this.clock,
      timeoutMs: opts.runbook.integrations?.approvalTimeoutMs,
    });
    this.gates = journaledGates(approvals, (b) => void this.bus.emit(b), opts.metrics);
  }

  private kind(name: string): StepKind {
    const k = this.opts.kinds.get(name);
    if (!k) throw new RunbookError(`unknown step kind "${name}"`, { hint: 'run `pgrunbook validate` on the runbook', exitCode: 2 });
    return k;
  }

  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  /** Operator abort: the current step is cancelled; the run stays resumable. */
  abort(reason = 'aborted by the operator'): void {
    if (this.signal.aborted) return;
    this.stopStatus = 'aborted';
    this.abortController.abort(new AbortedError(reason));
  }

  /** Stop at a safe point (SIGHUP, closed terminal): journaled, resumable. */
  interrupt(reason: string): void {
    if (this.signal.aborted) return;
    this.stopStatus = 'interrupted';
    this.abortController.abort(new AbortedError(reason));
  }

  get paused(): boolean {
    return this.control.paused;
  }

  /** Operator intents: the runner changes its control and emits the event every listener sees. */
  pause(): void {
    if (this.control.paused) return;
    this.control.setPaused(true);
    this.bus.emit({ type: 'run.paused', reason: 'paused by the operator' });
  }

  unpause(): void {
    if (!this.control.paused) return;
    this.control.setPaused(false);
    this.bus.emit({ type: 'run.unpaused' });
  }

  setBatchSize(n: number): void {
    this.control.setBatchSize(n);
  }

  setPauseMs(ms: number): void {
    this.control.setPauseMs(ms);
  }

  async run(): Promise<RunOutcome> {
    const { runbook, connection } = this.opts;
    const appName = `pgrunbook:${this.runId}`;
    const lockClient = this.opts.connect.client(`${appName}:lock`);
    const journalClient = this.opts.connect.client(`${appName}:journal`);
    lockClient.on('error', () => this.interrupt('lost the connection that holds the run lock'));
    journalClient.on('error', () => {});
    let journal: JournalSession | undefined;
    const started = this.clock.now();
    let locked = false;
    let runRecorded = false;
    try {
      try {
        await lockClient.connect();
        await journalClient.connect();
      } catch (err) {
        throw new RunbookError(explainConnectionError(err, connection), { exitCode: 1 });
      }
      this.pool = this.opts.connect.pool(appName, 6);
      const v = await lockClient.query<{ n: string; v: string }>(
        `select current_setting('server_version_num') n, current_setting('server_version') v`,
      );
      this.serverVersionNum = Number(v.rows[0]!.n);
      await ensureStateSchema(
        lockClient,
        [...this.opts.kinds.values()].flatMap((k) => (k.stateSql ? [k.stateSql] : [])),
      );
      locked = await tryAcquireRunLock(lockClient, runbook.name);
      if (!locked) throw lockHeldError(runbook.name, await findLockHolder(this.pool, runbook.name));

      await this.openRun(lockClient);
      runRecorded = true;
      journal = journalSession(journalClient, () => this.opts.connect.client(`${appName}:journal`));
      this.journal = new Journal(journal, this.jsonlPath(), this.who, {
        clock: this.clock,
        report: (level, message) => this.bus.emit({ type: 'step.log', stepId: '-', level, message }),
      });
      this.bus.on(this.journal.listener);
      this.executor = new SqlExecutor({ pool: this.pool, clock: this.clock, emit: (b) => void this.bus.emit(b), gates: this.gates });

      const phases = this.opts.phases ?? DEFAULT_PHASES;
      const target: Target = { ...connection.target, serverVersion: v.rows[0]!.v, serverVersionNum: this.serverVersionNum };
      this.bus.emit({
        type: 'run.started',
        runbook: runbook.name,
        file: runbook.file,
        target,
        phases,
        resumed: !!this.opts.resumeRunId,
        user: this.who.user,
        host: this.who.host,
        pid: this.who.pid,
      });
      if (this.previous) await this.emitResumed(this.previous);
      await this.emitPlanSummary(phases);

      for (const phase of PHASES.filter((p) => phases.includes(p))) {
        if (phase === 'deploy') await this.deployPlanGate();
        this.bus.emit({ type: 'phase.started', phase });
        if (phase === 'rollback') await this.runRollbackPhase();
        else for (const step of runbook.phases[phase]) await this.runStep(phase, step);
        this.bus.emit({ type: 'phase.completed', phase });
      }

      this.bus.emit({ type: 'run.completed', durationMs: this.clock.now() - started });
      return await this.closeRun({ runId: this.runId, status: 'completed' });
    } catch (err) {
      if (err instanceof RunLockHeldError || !runRecorded) throw err;
      const aborted = isAbort(err) || this.signal.aborted;
      const status: RunStatus = aborted ? this.stopStatus : 'failed';
      const message = (err as Error).message;
      if (status === 'failed') this.bus.emit({ type: 'run.failed', error: message });
      else if (status === 'aborted') this.bus.emit({ type: 'run.aborted', reason: message });
      else this.bus.emit({ type: 'run.interrupted', reason: message });
      return await this.closeRun({ runId: this.runId, status, error: err as Error });
    } finally {
      this.journal?.close();
      if (locked) await releaseRunLock(lockClient, runbook.name).catch(() => {});
      await lockClient.end().catch(() => {});
      await (journal ?? journalClient).end().catch(() => {});
      await this.pool?.end().catch(() => {});
    }
  }

  private jsonlPath(): string | undefined {
    return this.opts.journalDir === null ? undefined : join(this.opts.journalDir ?? '.pgrunbook', `${this.runId}.jsonl`);
  }

  /**
   * Records the run's end and waits for the journal. Neither can change the outcome: a run whose
   * end could not be recorded keeps its status and says what is missing and what to do.
   */
  private async closeRun(outcome: RunOutcome): Promise<RunOutcome> {
    const missing: string[] = [];
    const ended = await retryRecord(this.clock, () => store.finishRun(this.pool!, this.runId, outcome.status, outcome.error?.message));
    if (ended) missing.push(`pgrunbook.runs does not record its end (${ended.message})`);
    const backlog = await this.journal?.flush(this.opts.journalWaitMs ?? FINAL_JOURNAL_WAIT_MS);
    if (backlog) {
      const copy = this.jsonlPath();
      missing.push(
        `${backlog.pending} of its events are not in pgrunbook.events (${backlog.error})${copy ? `; ${copy} has every event` : ''}`,
      );
    }
    if (!missing.length) return outcome;
    const next = ended
      ? `\`pgrunbook status\` shows what is recorded and \`pgrunbook resume ${this.runId}\` records the end (completed steps are not run again)`
      : `\`pgrunbook status\` and \`pgrunbook report ${this.runId}\` show what is recorded`;
    const unrecorded = `run ${this.runId} ${outcome.status} in the database, but ${missing.join(', and ')}. Once pgrunbook.* accepts writes again, ${next}.`;
    this.bus.emit({ type: 'step.log', stepId: '-', level: 'error', message: unrecorded });
    return { ...outcome, unrecorded };
  }

  private async openRun(lockClient: pg.Client): Promise<void> {
    const { runbook } = this.opts;
    const backendPid = (lockClient as unknown as { processID: number }).processID;
    if (this.opts.resumeRunId) {
      const row = await store.getRun(this.pool!, this.runId);
      if (!row) throw new RunbookError(`no run ${this.runId} in this database`, { hint: 'list runs with `pgrunbook status`', exitCode: 2 });
      if (row.status === 'completed') throw new RunbookError(`run ${this.runId} already completed; nothing to resume`, { exitCode: 2 });
      this.previous = row;
      await store.markRunResumed(this.pool!, this.runId, {
        os_user: this.who.user,
        host: this.who.host,
        pid: this.who.pid,
        backend_pid: backendPid,
      });
      const seq = await this.pool!.query<{ m: number | null }>(`select max(seq) m from pgrunbook.events where run_id = $1`, [this.runId]);
      this.bus.startSeqAt(seq.rows[0]!.m ?? 0);
      for (const r of await store.stepRows(this.pool!, this.runId)) this.rows.set(`${r.phase}/${r.step_id}`, r);
      return;
    }
    await store.insertRun(this.pool!, {
      run_id: this.runId,
      runbook_name: runbook.name,
      runbook_file: runbook.file,
      runbook_sha256: createHash('sha256').update(runbook.source).digest('hex'),
      runbook_source: runbook.source,
      vars: storedVars(runbook),
      phases: this.opts.phases ?? DEFAULT_PHASES,
      os_user: this.who.user,
      host: this.who.host,
      pid: this.who.pid,
      backend_pid: backendPid,
    });
  }

  private async emitResumed(prev: store.RunRow): Promise<void> {
    const last = await this.pool!.query<{ at: string | null }>(`select max(at)::text at from pgrunbook.events where run_id = $1`, [
      this.runId,
    ]);
    const note =
      prev.status === 'running'
        ? `the previous process (pid ${prev.pid} on ${prev.host}) stopped without closing the run: killed, crashed or disconnected`
        : `the previous session ended as ${prev.status}${prev.error ? `: ${prev.error}` : ''}`;
    this.bus.emit({
      type: 'run.resumed',
      previousStatus: prev.status,
      previousUser: prev.os_user,
      previousHost: prev.host,
      previousPid: prev.pid,
      lastEventAt: last.rows[0]?.at ?? null,
      note,
    });
  }

  private async emitPlanSummary(phases: PhaseName[]): Promise<void> {
    const steps: EventOf<'run.plan'>['steps'] = [];
    if (phases.includes('rollback')) steps.push(...(await this.undoPlan()));
    for (const phase of PHASES.filter((p) => phases.includes(p))) {
      for (const step of this.opts.runbook.phases[phase]) {
        const kind = this.kind(step.kind);
        const plan = await this.planFor(kind, step).catch((err) => this.stopOnMissingTable(phase, step, err));
        steps.push({
          phase,
          id: step.id,
          kind: step.kind,
          title: step.title ?? step.id,
          gate: plan ? gateLevel(step, kind, plan) : (step.gate ?? 'confirm'),
          reversible: plan?.reversible ?? false,
          detail: { why: step.why, statements: plan?.statements.map((x) => x.sql), locks: plan?.locks, notes: plan?.notes },
        });
      }
    }
    this.bus.emit({ type: 'run.plan', steps });
  }

  /**
   * A pending step whose table does not exist (and that no earlier step creates) fails the run
   * here, before any gate: a typo or the wrong database, not something to find out mid-deploy.
   */
  private stopOnMissingTable(phase: PhaseName, step: StepSpec, err: unknown): undefined {
    const e = err as RunbookError;
    const done = ['completed', 'skipped'].includes(this.rows.get(`${phase}/${step.id}`)?.status ?? '');
    const all = PHASES.flatMap((p) => this.opts.runbook.phases[p]);
    const table = String((step.params as { table?: unknown })?.table ?? '');
    if (e?.sqlstate !== '42P01' || done || createdByEarlierStep(table, stepsBefore(all, step))) return undefined;
    throw new RunbookError(`step ${step.id}: ${e.message}`, {
      hint: `${e.hint ?? ''}; nothing was changed`.replace(/^; /, ''),
      sqlstate: '42P01',
      exitCode: 2,
    });
  }

  private planFor(kind: StepKind, step: StepSpec): Promise<StepPlan> {
    return Promise.resolve(kind.plan(step, { db: this.pool, serverVersionNum: this.serverVersionNum, runbook: this.opts.runbook }));
  }

  private async runStep(
    phase: PhaseName,
    step: StepSpec,
    opts: { undo?: { kind: StepKind; spec: StepSpec; stateRunId: string } } = {},
  ): Promise<void> {
    const key = `${phase}/${step.id}`;
    const prior = this.rows.get(key);
    const kind = opts.undo ? opts.undo.kind : this.kind(step.kind);
    if (prior?.status === 'completed' || prior?.status === 'skipped') {
      this.bus.emit({ type: 'step.skipped', phase, stepId: step.id, reason: `already ${prior.status} in this run` });
      return;
    }
    await this.control.waitWhilePaused(this.signal);
    this.throwIfStopped();
    const ctx = this.contextFor(step, opts.undo?.stateRunId ?? this.runId, opts.undo ? 'deploy' : phase, opts.undo?.spec.id);

    if (prior && !opts.undo && (prior.status === 'running' || prior.status === 'failed')) {
      const done = await this.reconcile(phase, step, kind, ctx, prior);
      if (done) return;
    }

    // Planned again here, not reused from the summary: earlier steps change what this one sees.
    const plan = opts.undo ? undefined : await this.planFor(kind, step);
    const level: GateLevel = opts.undo ? (step.gate ?? 'confirm') : gateLevel(step, kind, plan!);
    if (level !== 'none') await this.gate(level, step, kind, ctx, plan);

    const attempt = await store.markStepRunning(this.pool!, this.runId, phase, step.id, opts.undo ? `undo:${step.kind}` : step.kind);
    this.bus.emit({ type: 'step.started', phase, stepId: step.id, kind: step.kind, title: step.title ?? step.id, attempt });
    const t0 = this.clock.now();
    let result: unknown;
    try {
      if (opts.undo) await this.undo(opts.undo.kind, opts.undo.spec, ctx);
      else result = await withStepTimeout(step, ctx, () => kind.apply(step, ctx));
    } catch (err) {
      const e = err as RunbookError;
      if (isAbort(err) || this.signal.aborted) {
        // Left as 'running': resume reconciles it against the database.
        this.bus.emit({ type: 'step.log', stepId: step.id, level: 'warn', message: `stopped while running: ${this.stopReason()}` });
        throw this.signal.aborted ? this.signal.reason : err;
      }
      await store.markStep(this.pool!, this.runId, phase, step.id, 'failed', { error: e.message }).catch(() => {});
      this.bus.emit({
        type: 'step.failed',
        phase,
        stepId: step.id,
        durationMs: this.clock.now() - t0,
        error: e.message,
        sqlstate: e.sqlstate ?? (err as { code?: string }).code,
        hint: e.hint,
      });
      throw err;
    }
    await this.recordCompleted(phase, step.id, result);
    this.bus.emit({ type: 'step.completed', phase, stepId: step.id, durationMs: this.clock.now() - t0, result: result ?? undefined });
    await this.journal!.flush(this.opts.journalWaitMs ?? STEP_JOURNAL_WAIT_MS);
  }

  /** The step took effect; a failure to record that must not make it look failed. */
  private async recordCompleted(phase: PhaseName, stepId: string, result: unknown): Promise<void> {
    const err = await retryRecord(this.clock, () =>
      store.markStep(this.pool!, this.runId, phase, stepId, 'completed', { result: result ?? null }),
    );
    if (!err) return;
    throw new RunbookError(`step ${stepId} completed in the database, but pgrunbook.steps could not record it: ${err.message}`, {
      hint: `once pgrunbook.* accepts writes again, \`pgrunbook resume ${this.runId}\` reconciles ${stepId} with the database`,
      exitCode: 1,
    });
  }

  /** The size-aware plan of the deploy phase, shown and approved before any deploy step runs. */
  private async deployPlanGate(): Promise<void> {
    const steps = this.opts.runbook.phases.deploy;
    const pending = steps.filter((s) => !['completed', 'skipped'].includes(this.rows.get(`deploy/${s.id}`)?.status ?? ''));
    if (!this.opts.deployPlan || pending.length === 0) return;
    const plan = await this.opts.deployPlan({ pool: this.pool!, runbook: this.opts.runbook, serverVersionNum: this.serverVersionNum });
    this.bus.emit({ type: 'phase.plan', phase: 'deploy', summary: plan.summary, lines: plan.lines });
    const decision = await this.gates.request(
      {
        id: 'deploy:plan',
        stepId: 'deploy',
        level: 'confirm',
        title: 'Start the deploy phase',
        action: plan.summary,
        evidence: plan.evidence,
      },
      this.signal,
    );
    if (!decision.approved) {
      throw new RunbookError(`the deploy plan was not approved${decision.reason ? `: ${decision.reason}` : ''}`, {
        hint: `nothing in the deploy phase ran; review it with \`pgrunbook plan\`, then \`pgrunbook resume ${this.runId}\``,
      });
    }
  }

  private async reconcile(phase: PhaseName, step: StepSpec, kind: StepKind, ctx: StepContext, prior: store.StepRow): Promise<boolean> {
    if (kind.reconcile) {
      const r = await kind.reconcile(step, ctx);
      this.bus.emit({ type: 'step.reconciled', phase, stepId: step.id, found: r.found, detail: r.detail });
      if (r.found === 'done') {
        await store.markStep(this.pool!, this.runId, phase, step.id, 'completed', { result: { reconciled: r.detail } });
        this.bus.emit({ type: 'step.completed', phase, stepId: step.id, durationMs: 0, result: { reconciled: r.detail } });
        return true;
      }
      if (r.found === 'not-done') return false;
    }
    // The kind cannot tell whether its effect landed: the operator decides.
    const policy = this.opts.inFlight?.[step.id];
    let choice = policy;
    if (!choice) {
      const d = await this.gates.request(
        {
          id: `${step.id}:in-flight`,
          stepId: step.id,
          level: 'confirm',
          title: `Step ${step.id} was ${prior.status === 'failed' ? 'failed' : 'in flight'} when the run stopped`,
          action: 'pgrunbook cannot tell whether its effect is already in the database. Re-run it, or mark it done and skip it.',
          evidence: [{ label: 'last error', value: prior.error ?? 'none recorded' }],
          choices: ['rerun', 'skip'],
        },
        this.signal,
      );
      if (!d.approved || !d.choice) {
        throw new RunbookError(`step ${step.id} was in flight and its effect is unknown`, {
          hint: `check the database, then \`pgrunbook resume ${this.runId} --rerun ${step.id}\` or \`--skip ${step.id}\``,
        });
      }
      choice = d.choice as 'rerun' | 'skip';
    }
    this.bus.emit({ type: 'step.reconciled', phase, stepId: step.id, found: 'unknown', detail: `operator chose ${choice}` });
    if (choice === 'skip') {
      await store.markStep(this.pool!, this.runId, phase, step.id, 'skipped', { error: 'skipped on resume by the operator' });
      this.bus.emit({ type: 'step.skipped', phase, stepId: step.id, reason: 'skipped on resume by the operator' });
      return true;
    }
    return false;
  }

  private async gate(level: Exclude<GateLevel, 'none'>, step: StepSpec, kind: StepKind, ctx: StepContext, plan?: StepPlan): Promise<void> {
    const evidence: Evidence[] = [];
    if (kind.verify && plan) {
      evidence.push(...(await kind.verify(step, ctx).catch((e: Error) => [{ label: 'evidence unavailable', value: e.message }])));
    }
    const strongest = plan?.locks.slice().sort((a, b) => LOCK_STRENGTH[b.mode] - LOCK_STRENGTH[a.mode])[0];
    if (plan?.locks.length) evidence.push(...(await this.blockersNow(plan.locks.map((l) => l.relation))));
    const req: GateRequest = {
      id: `${step.id}:gate`,
      stepId: step.id,
      level,
      title: step.title ?? step.id,
      action: plan ? describePlan(plan) : `undo what deploy step ${step.id.replace(/^undo:/, '')} did`,
      lockMode: strongest?.mode,
      expectText: level === 'type' ? typedName(strongest?.relation ?? step.id) : undefined,
      evidence,
    };
    const approvers = approversFor(step, this.opts.runbook, level, !plan);
    if (approvers > 0) req.approvers = approvers;
    const decision = await this.gates.request(req, this.signal);
    if (!decision.approved) {
      throw new RunbookError(`gate for step ${step.id} was not approved${decision.reason ? `: ${decision.reason}` : ''}`, {
        hint: `nothing was changed by ${step.id}; run \`pgrunbook resume ${this.runId}\` to continue from this step`,
      });
    }
  }

  private async blockersNow(relations: string[]): Promise<Evidence[]> {
    return this.opts.blockersNow ? this.opts.blockersNow(this.pool!, relations).catch(() => []) : [];
  }

  /** The run a rollback undoes and its deploy steps that took effect (or may have), newest first. */
  private async undoTarget(): Promise<{ run: store.RunRow; rows: store.StepRow[] } | undefined> {
    const target = await store.runToRollBack(this.pool!, this.runId, this.opts.runbook.name);
    const run = target ? await store.getRun(this.pool!, target) : undefined;
    if (!run) return undefined;
    const rows = (await store.stepRows(this.pool!, run.run_id))
      .filter((r) => r.phase === 'deploy' && ['completed', 'running', 'failed'].includes(r.status))
      .sort((a, b) => +b.started_at - +a.started_at);
    return { run, rows };
  }

  /** The undo steps of the rollback phase, for the plan summary (they exist only once the target is known). */
  private async undoPlan(): Promise<EventOf<'run.plan'>['steps']> {
    const t = await this.undoTarget();
    return (t?.rows ?? []).flatMap((row) => {
      const spec = this.opts.runbook.phases.deploy.find((s) => s.id === row.step_id);
      if (!spec) return [];
      return [
        {
          phase: 'rollback' as const,
          id: `undo:${spec.id}`,
          kind: spec.kind,
          title: `Undo ${spec.id}`,
          gate: spec.gate === 'none' ? ('none' as const) : ('confirm' as const),
          reversible: false,
          detail: { why: `undoes ${spec.id} of run ${t!.run.run_id}` },
        },
      ];
    });
  }

  private async runRollbackPhase(): Promise<void> {
    const { runbook } = this.opts;
    const t = await this.undoTarget();
    const target = t?.run.run_id;
    if (t && target) {
      const done = t.rows;
      const when = new Date(t.run.started_at).toISOString().replace('T', ' ').slice(0, 16);
      this.bus.emit({
        type: 'step.log',
        stepId: '-',
        level: 'info',
        message: `undoing run ${target} (started ${when}Z by ${t.run.os_user}@${t.run.host}): ${done.map((r) => r.step_id).join(', ') || 'no steps'}, newest first`,
      });
      for (const row of done) {
        const spec = runbook.phases.deploy.find((s) => s.id === row.step_id);
        if (!spec) {
          this.bus.emit({
            type: 'step.log',
            stepId: row.step_id,
            level: 'warn',
            message: `deploy step ${row.step_id} is no longer in the runbook; cannot undo it`,
          });
          continue;
        }
        const kind = this.kind(spec.kind);
        if (!kind.rollback && !spec.rollback) {
          this.bus.emit({
            type: 'step.log',
            stepId: spec.id,
            level: 'warn',
            message: `${spec.id} (${spec.kind}) has no rollback; left as is`,
          });
          continue;
        }
        const undoSpec: StepSpec = {
          ...spec,
          id: `undo:${spec.id}`,
          phase: 'rollback',
          title: `Undo ${spec.id}`,
          gate: spec.gate === 'none' ? 'none' : undefined,
        };
        await this.runStep('rollback', undoSpec, { undo: { kind, spec, stateRunId: target } });
        await store.markStep(this.pool!, target, 'deploy', spec.id, 'rolled_back');
        // Recorded on the undo step so `status` and `report` can name the run this one undid.
        await store.markStep(this.pool!, this.runId, 'rollback', undoSpec.id, 'completed', { result: { undoes: target } });
      }
    } else {
      this.bus.emit({
        type: 'step.log',
        stepId: '-',
        level: 'info',
        message: `no deploy steps of "${runbook.name}" recorded in this database to undo`,
      });
    }
    for (const step of runbook.phases.rollback) await this.runStep('rollback', step);
  }

  private async undo(kind: StepKind, spec: StepSpec, ctx: StepContext): Promise<void> {
    if (kind.rollback) return kind.rollback(spec, ctx);
    await ctx.executor.run(spec.rollback!, {
      stepId: ctx.step.id,
      lockTimeoutMs: spec.settings.lockTimeoutMs,
      statementTimeoutMs: spec.settings.statementTimeoutMs,
      retries: spec.settings.ddlRetries,
      signal: ctx.signal,
    });
  }

  private contextFor(step: StepSpec, stateRunId: string, statePhase: PhaseName, stateStepId?: string): StepContext {
    const pool = this.pool!;
    const id = stateStepId ?? step.id;
    const state: StepState = {
      get: async <T>() => (await store.getStepState(pool, stateRunId, statePhase, id)) as T | undefined,
      set: (value) => store.setStepState(pool, stateRunId, statePhase, id, step.kind, value),
    };
    return {
      runId: this.runId,
      runbook: this.opts.runbook,
      step,
      pool,
      connectionString: this.opts.connection.connectionString,
      executor: this.executor!,
      serverVersionNum: this.serverVersionNum,
      emit: (b) => void this.bus.emit(b),
      signal: this.signal,
      clock: this.clock,
      gates: this.gates,
      control: this.control,
      state,
      nonInteractive: this.opts.nonInteractive,
    };
  }

  private throwIfStopped(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  private stopReason(): string {
    return (this.signal.reason as Error)?.message ?? 'stopped';
  }
}

function describePlan(plan: StepPlan): string {
  const first = plan.statements[0]?.description ?? plan.statements[0]?.sql.split('\n')[0];
  const more = plan.statements.length > 1 ? ` (+${plan.statements.length - 1} more statements)` : '';
  const undo = plan.reversible ? '' : ` Irreversible${plan.irreversibleReason ? `: ${plan.irreversibleReason}` : ''}.`;
  return `${first ?? 'run the step'}${more}.${undo}`;
}

async function withStepTimeout<T>(step: StepSpec, ctx: StepContext, fn: () => Promise<T>): Promise<T> {
  if (!step.timeoutMs) return fn();
  const runSignal = ctx.signal;
  const timeout = AbortSignal.timeout(step.timeoutMs);
  (ctx as { signal: AbortSignal }).signal = AbortSignal.any([runSignal, timeout]);
  try {
    return await fn();
  } catch (err) {
    if (timeout.aborted && !runSignal.aborted) {
      throw new RunbookError(`step ${step.id} exceeded its timeout of ${step.timeoutMs} ms`, {
        hint: 'raise the step `timeout:` or investigate why it is slow; the step can be resumed',
      });
    }
    throw err;
  }
}
