// A run's hold on the database, from start to end: the dedicated sessions for the run lock and the
// journal, the pool for the steps, the state schema, the run lock, the run's row (new or resumed),
// the journal, and at the end recording how the run ended and releasing it all.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type pg from 'pg';
import { RunbookError } from '../util/runbook-error.js';
import type { Clock } from '../util/clock.js';
import { explainConnectionError, serverVersion } from '../pg/connection.js';
import { SqlExecutor } from '../pg/executor.js';
import type { PhaseName } from '../runbook/model.js';
import { storedVars } from '../runbook/secret-vars.js';
import type { EventBus } from './events.js';
import type { GatePort } from './gates.js';
import { journalSession, type JournalSession } from './journal-session.js';
import { Journal } from './journal.js';
import type { Identity } from './operator-identity.js';
import { retryRecord } from './record-retry.js';
import { findLockHolder, lockHeldError } from './run-lock.js';
import { RunLockKeeper } from './run-lock-keeper.js';
import { DEFAULT_PHASES, type RunnerOptions, type RunOutcome } from './run-options.js';
import { ensureStateSchema } from './state-schema.js';
import * as store from './state-store.js';

/** How long the end of a run waits for a journal that cannot write. */
const FINAL_JOURNAL_WAIT_MS = 30_000;

export interface RunSessionDeps {
  runId: string;
  opts: RunnerOptions;
  bus: EventBus;
  clock: Clock;
  who: Identity;
  /** The journaled gate port the executor asks its retry questions through. */
  gates: GatePort;
  /** The run lock is gone and could not be taken again safely: the run must stop, for this reason. */
  onLockLost(reason: string): void;
}

export class RunSession {
  pool!: pg.Pool;
  executor!: SqlExecutor;
  serverVersion = '';
  serverVersionNum = 0;
  /** This run's step rows as recorded before it started (resume), by `phase/step`. */
  readonly rows = new Map<string, store.StepRow>();
  /** The run as recorded before this session resumed it. */
  previous?: store.RunRow;
  journal?: Journal;
  /** The run has its row in pgrunbook.runs: from here on its end is recorded there. */
  recorded = false;
  private readonly lock: RunLockKeeper;
  private readonly journalClient: pg.Client;
  /** The journal's session, reopened when its connection dies. */
  private journalDb?: JournalSession;

  constructor(private readonly d: RunSessionDeps) {
    const appName = `pgrunbook:${d.runId}`;
    this.lock = new RunLockKeeper({
      runbookName: d.opts.runbook.name,
      runId: d.runId,
      applicationName: `${appName}:lock`,
      open: () => d.opts.connect.client(`${appName}:lock`),
      clock: d.clock,
      log: (level, message) => d.bus.emit({ type: 'step.log', stepId: '-', level, message }),
      lost: (reason) => d.onLockLost(reason),
    });
    this.journalClient = d.opts.connect.client(`${appName}:journal`);
    this.journalClient.on('error', () => {});
  }

  /** Connects, takes the run lock and records the run; throws when another session holds the lock. */
  async open(): Promise<void> {
    const { opts, runId } = this.d;
    try {
      await this.lock.client.connect();
      await this.journalClient.connect();
    } catch (err) {
      throw new RunbookError(explainConnectionError(err, opts.connection), { exitCode: 1 });
    }
    this.pool = opts.connect.pool(`pgrunbook:${runId}`, 6);
    const v = await serverVersion(this.lock.client);
    this.serverVersion = v.text;
    this.serverVersionNum = v.num;
    await ensureStateSchema(
      this.lock.client,
      [...opts.kinds.values()].flatMap((k) => (k.stateSql ? [k.stateSql] : [])),
    );
    if (!(await this.lock.take())) throw lockHeldError(opts.runbook.name, await findLockHolder(this.pool, opts.runbook.name));
    await this.recordRun();
    this.recorded = true;
    this.journalDb = journalSession(this.journalClient, () => this.d.opts.connect.client(`pgrunbook:${runId}:journal`));
    this.journal = new Journal(this.journalDb, this.jsonlPath(), this.d.who, {
      clock: this.d.clock,
      report: (level, message) => this.d.bus.emit({ type: 'step.log', stepId: '-', level, message }),
    });
    this.d.bus.on(this.journal.listener);
    this.executor = new SqlExecutor({
      pool: this.pool,
      clock: this.d.clock,
      emit: (b) => void this.d.bus.emit(b),
      gates: this.d.gates,
    });
  }

  /** Tells who ran this run before and how that session ended (resume only). */
  async emitResumed(): Promise<void> {
    const prev = this.previous;
    if (!prev) return;
    const note =
      prev.status === 'running'
        ? `the previous process (pid ${prev.pid} on ${prev.host}) stopped without closing the run: killed, crashed or disconnected`
        : `the previous session ended as ${prev.status}${prev.error ? `: ${prev.error}` : ''}`;
    this.d.bus.emit({
      type: 'run.resumed',
      previousStatus: prev.status,
      previousUser: prev.os_user,
      previousHost: prev.host,
      previousPid: prev.pid,
      lastEventAt: await store.lastEventAt(this.pool, this.d.runId),
      note,
    });
  }

  /** Resolves once the run lock is held (it may be being taken again after its connection died). */
  lockHeld(): Promise<void> {
    return this.lock.ready();
  }

  stepRow(phase: PhaseName, stepId: string): store.StepRow | undefined {
    return this.rows.get(`${phase}/${stepId}`);
  }

  /** Waits for the journal after a step, for at most `ms`; it keeps retrying afterwards. */
  async flushJournal(ms: number): Promise<void> {
    await this.journal?.flush(this.d.opts.journalWaitMs ?? ms);
  }

  /**
   * Records the run's end and waits for the journal. Neither can change the outcome: a run whose
   * end could not be recorded keeps its status and says what is missing and what to do.
   */
  async close(outcome: RunOutcome): Promise<RunOutcome> {
    const { runId } = this.d;
    const missing: string[] = [];
    const ended = await retryRecord(this.d.clock, () => store.finishRun(this.pool, runId, outcome.status, outcome.error?.message));
    if (ended) missing.push(`pgrunbook.runs does not record its end (${ended.message})`);
    const backlog = await this.journal?.flush(this.d.opts.journalWaitMs ?? FINAL_JOURNAL_WAIT_MS);
    if (backlog) {
      const copy = this.jsonlPath();
      missing.push(
        `${backlog.pending} of its events are not in pgrunbook.events (${backlog.error})${copy ? `; ${copy} has every event` : ''}`,
      );
    }
    if (!missing.length) return outcome;
    const next = ended
      ? `\`pgrunbook status\` shows what is recorded and \`pgrunbook resume ${runId}\` records the end (completed steps are not run again)`
      : `\`pgrunbook status\` and \`pgrunbook report ${runId}\` show what is recorded`;
    const unrecorded = `run ${runId} ${outcome.status} in the database, but ${missing.join(', and ')}. Once pgrunbook.* accepts writes again, ${next}.`;
    this.d.bus.emit({ type: 'step.log', stepId: '-', level: 'error', message: unrecorded });
    return { ...outcome, unrecorded };
  }

  /** Stops the journal, releases the run lock and closes every session; never throws. */
  async release(): Promise<void> {
    this.journal?.close();
    await this.lock.release();
    await (this.journalDb ?? this.journalClient).end().catch(() => {});
    await this.pool?.end().catch(() => {});
  }

  private jsonlPath(): string | undefined {
    const dir = this.d.opts.journalDir;
    return dir === null ? undefined : join(dir ?? '.pgrunbook', `${this.d.runId}.jsonl`);
  }

  /** A new run's row, or the resumed run's row marked running again with its steps read back. */
  private async recordRun(): Promise<void> {
    const { opts, runId, who } = this.d;
    const backendPid = this.lock.backendPid;
    const holder = { os_user: who.user, host: who.host, pid: who.pid, backend_pid: backendPid };
    if (!opts.resumeRunId) {
      const { runbook } = opts;
      await store.insertRun(this.pool, {
        run_id: runId,
        runbook_name: runbook.name,
        runbook_file: runbook.file,
        runbook_sha256: createHash('sha256').update(runbook.source).digest('hex'),
        runbook_source: runbook.source,
        vars: storedVars(runbook),
        phases: opts.phases ?? DEFAULT_PHASES,
        ...holder,
      });
      return;
    }
    const row = await store.getRun(this.pool, runId);
    if (!row) throw new RunbookError(`no run ${runId} in this database`, { hint: 'list runs with `pgrunbook status`', exitCode: 2 });
    if (row.status === 'completed') throw new RunbookError(`run ${runId} already completed; nothing to resume`, { exitCode: 2 });
    this.previous = row;
    await store.markRunResumed(this.pool, runId, holder);
    this.d.bus.startSeqAt(await store.lastEventSeq(this.pool, runId));
    for (const r of await store.stepRows(this.pool, runId)) this.rows.set(`${r.phase}/${r.step_id}`, r);
  }
}
