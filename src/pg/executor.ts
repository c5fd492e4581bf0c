// Lock-safe SQL executor. Every statement runs with lock_timeout (never without) and the step's
// statement_timeout. On lock_not_available (55P03) it backs off with jitter and retries; when the
// retries run out it asks the operator (retry / abort) through the gate port.
//
// Multi-statement SQL in one step: statements are grouped into units. A run of ordinary statements
// is one transaction; an explicit BEGIN ... COMMIT block is one transaction; a statement that cannot
// run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...) is a unit of its own, in
// autocommit. Units run in order; each is retried as a whole on 55P03. A failure reports which
// units had already committed.
import pg from 'pg';
import type { Clock } from '../util/clock.js';
import { AbortedError, RunbookError } from '../util/runbook-error.js';
import { loadParser, parseStatements, type ParsedStatement } from './sqlparse.js';
import { sqlText } from './sql-files.js';
import { LockWaitWatch, openLockWaitProbes, type LockWaitSeen } from './lock-wait-watch.js';
import { clearAutovacuum, conflictsWithAutovacuum } from './autovacuum-clearance.js';

export interface ExecOptions {
  stepId: string;
  lockTimeoutMs: number;
  /** 0 = none. */
  statementTimeoutMs: number;
  retries: number;
  signal?: AbortSignal;
  /** Called before each retry of a unit (e.g. create_index drops the INVALID index a timed-out build left). */
  beforeRetry?: (attempt: number, err: unknown) => Promise<void>;
  /** Bind parameters; only for a single statement. */
  params?: unknown[];
  /** Skip parsing (for SQL the engine generated itself and knows to be one transactional unit). */
  transactional?: boolean;
  /** Further session settings for the unit (names and integer values from the engine, never user text). */
  settings?: Record<string, number>;
}

export interface StatementResult {
  sql: string;
  command: string;
  rowCount: number | null;
  rows: any[];
}

/** What the executor reports; the engine's event stream carries these as they are. */
export type ExecutorEvent =
  | {
      type: 'step.sql';
      stepId: string;
      sql: string;
      durationMs: number;
      rowCount: number | null;
      ok: boolean;
      error?: string;
      sqlstate?: string;
    }
  | { type: 'step.retry'; stepId: string; attempt: number; of: number; delayMs: number; reason: string }
  | ({ type: 'step.lock_wait'; stepId: string } & LockWaitSeen)
  | { type: 'step.log'; stepId: string; level: 'info' | 'warn' | 'error'; message: string; stream?: 'stdout' | 'stderr' };

/** The one question the executor asks (retry or stop when lock retries run out); the engine's gate port answers it. */
export interface RetryQuestion {
  id: string;
  stepId: string;
  level: 'confirm';
  title: string;
  action: string;
  evidence: { label: string; value: string; ok: boolean }[];
  choices: string[];
}

export interface RetryQuestionPort {
  request(question: RetryQuestion, signal: AbortSignal): Promise<{ approved: boolean; choice?: string }>;
}

export interface ExecutorDeps {
  pool: pg.Pool;
  clock: Clock;
  emit(body: ExecutorEvent): void;
  gates: RetryQuestionPort;
  random?: () => number;
  /** Backoff base and cap in ms. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
}

interface Unit {
  statements: ParsedStatement[];
  transactional: boolean;
  end: 'commit' | 'rollback';
}

export const LOCK_NOT_AVAILABLE = '55P03';
export const QUERY_CANCELED = '57014';

export class SqlExecutor {
  private readonly random: () => number;
  constructor(private readonly deps: ExecutorDeps) {
    this.random = deps.random ?? Math.random;
    if (deps.pool instanceof pg.Pool) openLockWaitProbes(deps.pool);
  }

  /** Splits SQL into units (see the header). Exposed for plans and tests. */
  static async units(sql: string): Promise<Unit[]> {
    await loadParser();
    return groupUnits(parseStatements(sql));
  }

  async run(sql: string, opts: ExecOptions): Promise<StatementResult[]> {
    if (!(opts.lockTimeoutMs > 0)) {
      throw new RunbookError('refusing to run DDL without a lock_timeout', {
        hint: 'set settings.lock_timeout (e.g. 2s) in the runbook; 0 would queue behind any lock and block every later query on the table',
      });
    }
    let units: Unit[];
    if (opts.transactional !== undefined) {
      // A step kind's own SQL runs as written, in one round trip; parsed only to know what it locks
      // (autovacuum clearance, the blockers named when retries run out).
      units = [
        {
          statements: [{ sql, offset: 0, ...(await lockingNode(sql)), transactional: opts.transactional }],
          transactional: opts.transactional,
          end: 'commit',
        },
      ];
    } else {
      units = await SqlExecutor.units(sql);
    }
    if (opts.params && (units.length !== 1 || units[0]!.statements.length !== 1)) {
      throw new RunbookError('bind parameters need exactly one statement');
    }
    const results: StatementResult[] = [];
    let committed = 0;
    for (const unit of units) {
      try {
        results.push(...(await this.runUnitWithRetry(unit, opts)));
        committed += unit.statements.length;
      } catch (err) {
        if (committed > 0 && err instanceof RunbookError) {
          const hint = `${committed} earlier statement(s) of this step were already committed; ${err.hint ?? ''}`.trim();
          throw new RunbookError(err.message, { ...err.opts, hint });
        }
        throw err;
      }
    }
    return results;
  }

  private async runUnitWithRetry(unit: Unit, opts: ExecOptions): Promise<StatementResult[]> {
    let attempt = 0;
    for (;;) {
      if (opts.signal?.aborted) throw new AbortedError();
      try {
        return await this.runUnit(unit, opts);
      } catch (err: any) {
        if (opts.signal?.aborted) throw new AbortedError();
        if (err?.code !== LOCK_NOT_AVAILABLE) throw toRunbookError(err, opts);
        attempt++;
        if (attempt <= opts.retries) {
          const delayMs = this.backoff(attempt);
          this.deps.emit({
            type: 'step.retry',
            stepId: opts.stepId,
            attempt,
            of: opts.retries,
            delayMs,
            reason: `lock_timeout (${opts.lockTimeoutMs} ms) expired waiting for a lock: ${err.message}`,
          });
          await this.deps.clock.sleep(delayMs, opts.signal);
          await opts.beforeRetry?.(attempt, err);
          continue;
        }
        const blockers = await this.describeBlockers(unit).catch(() => []);
        const decision = await this.deps.gates.request(
          {
            id: `${opts.stepId}:lock-retries:${Date.now()}`,
            stepId: opts.stepId,
            level: 'confirm',
            title: `Could not get the lock after ${opts.retries} retries`,
            action: `Retry ${opts.retries} more times with lock_timeout ${opts.lockTimeoutMs} ms, or stop the run here (it stays resumable).`,
            evidence: [
              { label: 'last error', value: err.message, ok: false },
              ...blockers.map((b) => ({ label: `blocker pid ${b.pid}`, value: b.what, ok: false })),
            ],
            choices: ['retry', 'abort'],
          },
          opts.signal ?? new AbortController().signal,
        );
        if (decision.approved && decision.choice === 'retry') {
          attempt = 0;
          await opts.beforeRetry?.(attempt, err);
          continue;
        }
        throw new RunbookError(`lock_timeout: could not get the lock after ${opts.retries} retries (${err.message})`, {
          sqlstate: LOCK_NOT_AVAILABLE,
          hint:
            'another session holds a conflicting lock; find it in the Locks panel (or pg_blocking_pids), ' +
            'wait for it or end it, then `pgrunbook resume`. Raising ddl_retries or running off-peak also helps.',
        });
      }
    }
  }

  private backoff(attempt: number): number {
    const base = this.deps.backoffBaseMs ?? 200;
    const cap = this.deps.backoffCapMs ?? 10_000;
    const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
    // "Equal jitter": half fixed, half random, so retries from several runners spread out.
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private async runUnit(unit: Unit, opts: ExecOptions): Promise<StatementResult[]> {
    const extraSettings = Object.entries(opts.settings ?? {}).map(([name, value]) => {
      if (!/^[a-z_]+$/.test(name) || !Number.isInteger(value)) throw new Error(`bad session setting ${name} = ${value}`);
      return [name, value] as const;
    });
    const client = await this.deps.pool.connect();
    let broken = false;
    const cancel = () => {
      const pid = (client as any).processID;
      if (pid) this.deps.pool.query('select pg_cancel_backend($1)', [pid]).catch(() => {});
    };
    opts.signal?.addEventListener('abort', cancel, { once: true });
    const results: StatementResult[] = [];
    try {
      // An abort while the connection was being opened has no statement to cancel yet: stop here.
      if (opts.signal?.aborted) throw new AbortedError();
      if (unit.transactional) {
        await client.query('BEGIN');
        await client.query(`SET LOCAL lock_timeout = ${Math.round(opts.lockTimeoutMs)}`);
        await client.query(`SET LOCAL statement_timeout = ${Math.round(opts.statementTimeoutMs)}`);
      } else {
        await client.query(`SET lock_timeout = ${Math.round(opts.lockTimeoutMs)}`);
        await client.query(`SET statement_timeout = ${Math.round(opts.statementTimeoutMs)}`);
      }
      for (const [name, value] of extraSettings) await client.query(`SET ${unit.transactional ? 'LOCAL ' : ''}${name} = ${value}`);
      for (const st of unit.statements) {
        if (conflictsWithAutovacuum(st.node)) await this.clearAutovacuumFor(st, opts.stepId);
        const t0 = this.deps.clock.now();
        const pid: number | undefined = (client as any).processID;
        const watch = pid ? new LockWaitWatch(this.deps.pool, this.deps.clock, pid) : undefined;
        try {
          const r = await client.query(st.sql, opts.params as any[]);
          const dur = this.deps.clock.now() - t0;
          // A wait that ended in the grant; one that ended at lock_timeout is reported as a retry.
          const wait = await watch?.end(this.deps.clock.now());
          if (wait) this.deps.emit({ type: 'step.lock_wait', stepId: opts.stepId, ...wait });
          this.deps.emit({ type: 'step.sql', stepId: opts.stepId, sql: st.sql, durationMs: dur, rowCount: r.rowCount ?? null, ok: true });
          results.push({ sql: st.sql, command: r.command, rowCount: r.rowCount ?? null, rows: r.rows });
        } catch (err: any) {
          await watch?.end(this.deps.clock.now());
          const dur = this.deps.clock.now() - t0;
          this.deps.emit({
            type: 'step.sql',
            stepId: opts.stepId,
            sql: st.sql,
            durationMs: dur,
            rowCount: null,
            ok: false,
            error: err.message,
            sqlstate: err.code,
          });
          throw err;
        }
      }
      if (unit.transactional) await client.query(unit.end === 'rollback' ? 'ROLLBACK' : 'COMMIT');
      return results;
    } catch (err) {
      if (unit.transactional) await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', cancel);
      if (!unit.transactional && !broken) {
        const resets = ['lock_timeout', 'statement_timeout', ...extraSettings.map(([name]) => name)].map((n) => `RESET ${n}`).join('; ');
        await client.query(resets).catch(() => (broken = true));
      }
      client.release(broken ? true : undefined);
    }
  }

  /** Cancels an autovacuum of the statement's relations first, so the application does not queue behind it (autovacuum-clearance.ts). */
  private async clearAutovacuumFor(st: ParsedStatement, stepId: string): Promise<void> {
    const rels = new Set<string>();
    collectRelations(st.ast, rels);
    // The statement's first two words, after any comments (a runbook's SQL often starts with one).
    const verb = st.sql
      .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ')
      .toUpperCase();
    // On the probe connection: the statement's own client may hold the last connection of the run pool.
    if (!(this.deps.pool instanceof pg.Pool)) return;
    const probes = openLockWaitProbes(this.deps.pool);
    for (const line of await clearAutovacuum(probes, [...rels], verb, this.deps.clock))
      this.deps.emit({ type: 'step.log', stepId, ...line });
  }

  /** Sessions holding locks that conflict with what the unit touches: best-effort evidence. */
  private async describeBlockers(unit: Unit): Promise<{ pid: number; what: string }[]> {
    const rels = new Set<string>();
    for (const st of unit.statements) collectRelations(st.ast, rels);
    if (rels.size === 0) return [];
    const r = await this.deps.pool.query<{ pid: number; what: string }>(sqlText('pg/sql', 'relation-lock-holders'), [[...rels]]);
    return r.rows;
  }
}

/**
 * The statement kind and syntax tree that stand for `sql` (one or more statements sent as one): the
 * first kind that conflicts with autovacuum, else the first; every statement's tree, so all their
 * relations are found. SQL the parser rejects stays 'Unknown' (the server gives the real error).
 */
async function lockingNode(sql: string): Promise<{ node: string; ast: unknown }> {
  let parsed: ParsedStatement[];
  try {
    await loadParser();
    parsed = parseStatements(sql);
  } catch {
    return { node: 'Unknown', ast: {} };
  }
  const node = parsed.find((p) => conflictsWithAutovacuum(p.node))?.node ?? parsed[0]?.node ?? 'Unknown';
  return { node, ast: parsed.map((p) => p.ast) };
}

function collectRelations(node: any, out: Set<string>): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach((n) => collectRelations(n, out));
  if (typeof node.relname === 'string') out.add(node.schemaname ? `${node.schemaname}.${node.relname}` : node.relname);
  for (const v of Object.values(node)) collectRelations(v, out);
}

function groupUnits(stmts: ParsedStatement[]): Unit[] {
  const units: Unit[] = [];
  let open: Unit | undefined; // implicit group of transactional statements
  let explicit: Unit | undefined; // inside BEGIN ... COMMIT
  for (const st of stmts) {
    if (st.transactionControl === 'begin') {
      if (explicit)
        throw new RunbookError('nested BEGIN in one step', {
          hint: 'remove the inner BEGIN; a step runs at most one explicit transaction block at a time',
        });
      open = undefined;
      explicit = { statements: [], transactional: true, end: 'commit' };
      continue;
    }
    if (st.transactionControl === 'commit' || st.transactionControl === 'rollback') {
      if (!explicit)
        throw new RunbookError(`${st.sql.toUpperCase()} without BEGIN`, {
          hint: 'statements outside BEGIN ... COMMIT already run in one transaction; drop the stray COMMIT',
        });
      explicit.end = st.transactionControl;
      units.push(explicit);
      explicit = undefined;
      continue;
    }
    if (explicit) {
      if (!st.transactional) {
        throw new RunbookError(`"${st.sql.slice(0, 60)}" cannot run inside a transaction block`, {
          hint: 'move it out of BEGIN ... COMMIT; pgrunbook runs such statements on their own, in autocommit',
        });
      }
      explicit.statements.push(st);
      continue;
    }
    if (!st.transactional) {
      open = undefined;
      units.push({ statements: [st], transactional: false, end: 'commit' });
      continue;
    }
    if (!open) {
      open = { statements: [], transactional: true, end: 'commit' };
      units.push(open);
    }
    open.statements.push(st);
  }
  if (explicit) throw new RunbookError('BEGIN without COMMIT', { hint: 'close the transaction block with COMMIT' });
  return units;
}

export function toRunbookError(err: any, opts: { statementTimeoutMs: number }): Error {
  if (err instanceof RunbookError || err instanceof AbortedError) return err;
  if (err?.code === QUERY_CANCELED && /statement timeout/i.test(err.message ?? '')) {
    return new RunbookError(`statement_timeout (${opts.statementTimeoutMs} ms) cancelled the statement`, {
      sqlstate: err.code,
      hint: 'raise statement_timeout for this step (step-level `statement_timeout:`), or make the statement cheaper',
    });
  }
  if (err?.code) {
    return new RunbookError(err.message, { sqlstate: err.code, hint: err.hint ?? err.detail, cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}
