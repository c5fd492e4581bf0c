// Drill mode: faults injected into the sandbox while the deploy runs, so a trainee sees the panels
// react and practises the response. Three faults, each aimed at the step it teaches about:
//  - a blocking transaction on the table of the first step that takes a strong lock, in place
//    before that step starts and held for 1.5× its lock_timeout (expect lock_timeout + retries);
//  - a long transaction (an old snapshot) opened when the index build starts (CREATE INDEX
//    CONCURRENTLY must wait for it);
//  - a burst of writes on the backfilled table while the backfill runs (row-lock contention,
//    batch-time throttling, rows above the backfill's bound). Its inserts fill the backfilled
//    columns as the application must by then: a row inserted after the last catch-up pass would
//    otherwise stay unfilled and fail the next step, a race that depends on timing alone.
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';
import type { Runner } from '../engine/runner.js';
import type { RunEvent } from '../engine/events.js';
import { quoteIdent, quoteQualified } from '../pg/connection.js';
import type { Runbook, StepSpec } from '../runbook/model.js';
import { LOCK_STRENGTH, type LockMode } from '../pg/lock-modes.js';
import type { StepPlan } from '../engine/step-kind.js';
import type { LockSampler } from './lock-sampler.js';
import { normRel } from './relation-names.js';
import type { DrillOutcome, PhaseTrace } from './rehearsal-types.js';
import { sqlText } from '../pg/sql-files.js';
import { watchSession } from '../pg/stall-watchdog.js';

export interface DrillOptions {
  sandboxUrl: string;
  runbook: Runbook;
  /** Plans of the deploy steps (from the sandbox), by step id. */
  plans: Map<string, StepPlan | undefined>;
  /** Blocker hold; default 1.5 × the target step's lock_timeout. */
  blockHoldMs?: number;
  longTransactionMs?: number;
  burstMs?: number;
  burstClients?: number;
}

interface Target {
  step: StepSpec;
  relation: string;
}

interface Fact {
  injectedAt?: number;
  releasedAt?: number;
  pid?: number;
  what: string;
  error?: string;
  metrics: Record<string, number | string | null>;
}

const APP = 'drill'; // deliberately not "pgrunbook...": to the runner these look like the application

export class Drill {
  private blocker?: Target & { mode: string };
  private indexTarget?: Target;
  private burstTarget?: Target;
  private clients: pg.Client[] = [];
  private timers: NodeJS.Timeout[] = [];
  private runner?: Runner;
  private pending: Promise<unknown>[] = [];
  private facts = new Map<DrillOutcome['fault'], Fact>();
  private burstStop = false;
  private latencies: number[] = [];
  private longClient?: pg.Client;
  private startBlockerHold!: () => void;
  private readonly blockerStepStarted = new Promise<void>((resolve) => (this.startBlockerHold = resolve));

  constructor(private readonly opts: DrillOptions) {
    const deploy = opts.runbook.phases.deploy;
    for (const step of deploy) {
      const plan = opts.plans.get(step.id);
      const locks = (plan?.locks ?? []).filter((l) => LOCK_STRENGTH[l.mode as LockMode] >= LOCK_STRENGTH.ShareLock);
      const strongest = locks.sort((a, b) => LOCK_STRENGTH[b.mode] - LOCK_STRENGTH[a.mode])[0];
      if (!this.blocker && strongest) {
        // A reader blocks ACCESS EXCLUSIVE; an open write transaction blocks SHARE and stronger.
        this.blocker = {
          step,
          relation: strongest.relation,
          mode: strongest.mode === 'AccessExclusiveLock' ? 'ACCESS SHARE' : 'ROW EXCLUSIVE',
        };
      }
      const isIndex =
        step.kind === 'create_index' || (plan?.statements ?? []).some((s) => /create\s+(unique\s+)?index\s+concurrently/i.test(s.sql));
      if (!this.indexTarget && isIndex) this.indexTarget = { step, relation: tableOf(step, plan) };
      if (!this.burstTarget && step.kind === 'backfill') this.burstTarget = { step, relation: tableOf(step, plan) };
    }
  }

  /** Before the runner starts: a blocker for the very first step must already be in place. */
  async attach(runner: Runner, sampler: LockSampler): Promise<void> {
    this.runner = runner;
    void sampler;
    const deploy = this.opts.runbook.phases.deploy;
    // Connected ahead: when the index build starts, only BEGIN has to travel.
    if (this.indexTarget) this.longClient = await this.connect();
    runner.bus.on((e) => this.onEvent(e));
    if (this.blocker && deploy[0]?.id === this.blocker.step.id) await this.injectBlocker();
  }

  private onEvent(e: RunEvent): void {
    const deploy = this.opts.runbook.phases.deploy;
    if (e.type === 'step.completed' && this.blocker) {
      const i = deploy.findIndex((s) => s.id === e.stepId);
      if (i >= 0 && deploy[i + 1]?.id === this.blocker.step.id) this.track(this.injectBlocker());
    }
    if (e.type === 'step.started' && this.blocker && e.stepId === this.blocker.step.id) this.startBlockerHold();
    if (e.type === 'run.failed' || e.type === 'run.completed' || e.type === 'run.aborted' || e.type === 'run.interrupted')
      this.startBlockerHold();
    if (e.type === 'step.started' && this.indexTarget && e.stepId === this.indexTarget.step.id) this.track(this.injectLongTransaction());
    if (e.type === 'step.started' && this.burstTarget && e.stepId === this.burstTarget.step.id) this.track(this.injectBurst());
    if ((e.type === 'step.completed' || e.type === 'step.failed') && this.burstTarget && e.stepId === this.burstTarget.step.id)
      this.burstStop = true;
  }

  private track(p: Promise<unknown>): void {
    this.pending.push(p.catch(() => {}));
  }

  private async connect(): Promise<pg.Client> {
    const c = new pg.Client({ ...clientConfig(this.opts.sandboxUrl), application_name: APP });
    watchSession(c, this.opts.sandboxUrl);
    await c.connect();
    this.clients.push(c);
    return c;
  }

  private announce(fault: DrillOutcome['fault'], action: 'injected' | 'released', stepId: string, detail: string): void {
    this.runner?.bus.emit({ type: 'rehearsal.drill', fault, action, stepId, detail });
  }

  /** Resolves once the lock is held (the runner may start); the release is tracked separately. */
  private async injectBlocker(): Promise<void> {
    const t = this.blocker!;
    const hold = this.opts.blockHoldMs ?? Math.round(t.step.settings.lockTimeoutMs * 1.5);
    const what = `a transaction holding ${t.mode} on ${normRel(t.relation)}, opened before ${t.step.id} and held until ${hold} ms into it`;
    const fact: Fact = { what, metrics: { hold_ms: hold } };
    this.facts.set('blocking-transaction', fact);
    try {
      const c = await this.connect();
      fact.pid = (c as unknown as { processID: number }).processID;
      await c.query(`BEGIN; LOCK TABLE ${await qualify(c, t.relation)} IN ${t.mode} MODE`);
      fact.injectedAt = Date.now();
      this.announce('blocking-transaction', 'injected', t.step.id, what);
      // The hold counts from the moment the step starts (runner start-up time varies).
      this.track(
        this.blockerStepStarted
          .then(() => this.hold(hold))
          .then(() => c.query('COMMIT'))
          .then(() => {
            fact.releasedAt = Date.now();
            this.announce('blocking-transaction', 'released', t.step.id, `released the ${t.mode} lock on ${normRel(t.relation)}`);
          }),
      );
    } catch (err) {
      fact.error = (err as Error).message;
    }
  }

  private async injectLongTransaction(): Promise<void> {
    const t = this.indexTarget!;
    const hold = this.opts.longTransactionMs ?? 3000;
    const what = `a REPEATABLE READ transaction (an old snapshot) open for ${hold} ms from the start of ${t.step.id}`;
    const fact: Fact = { what, metrics: { hold_ms: hold } };
    this.facts.set('long-transaction', fact);
    try {
      const c = this.longClient ?? (await this.connect());
      fact.pid = (c as unknown as { processID: number }).processID;
      await c.query(
        `BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM (SELECT 1 FROM ${await qualify(c, t.relation)} LIMIT 1) x`,
      );
      fact.injectedAt = Date.now();
      this.announce('long-transaction', 'injected', t.step.id, what);
      await this.hold(hold);
      await c.query('COMMIT');
      fact.releasedAt = Date.now();
      this.announce('long-transaction', 'released', t.step.id, 'the long transaction committed');
    } catch (err) {
      fact.error = (err as Error).message;
    }
  }

  private async injectBurst(): Promise<void> {
    const t = this.burstTarget!;
    const ms = this.opts.burstMs ?? 3000;
    const n = this.opts.burstClients ?? 2;
    const fill = backfillSet(t.step);
    const what = `${n} sessions writing to ${normRel(t.relation)} (row updates, and inserts when the key has a default${fill ? ' that set the backfilled columns, as the application must' : ''}) for ${ms} ms during ${t.step.id}`;
    const fact: Fact = { what, metrics: {} };
    this.facts.set('write-burst', fact);
    try {
      const shape = await this.tableShape(t.relation);
      const clients = await Promise.all(Array.from({ length: n }, () => this.connect()));
      fact.injectedAt = Date.now();
      this.announce('write-burst', 'injected', t.step.id, what);
      const deadline = Date.now() + ms;
      let updates = 0;
      let inserts = 0;
      let errors = 0;
      const errorCodes = new Set<string>();
      await Promise.all(
        clients.map(async (c, i) => {
          await c.query(`SET lock_timeout = '5s'; SET statement_timeout = '10s'`);
          for (let k = 0; Date.now() < deadline && !this.burstStop; k++) {
            const offset = Math.floor(Math.random() * Math.max(1, shape.rows - 20));
            const insert = shape.insertable && (k + i) % 4 === 3;
            const sql = insert
              ? `INSERT INTO ${shape.table} (${shape.copyCols}) SELECT ${shape.copyCols} FROM ${shape.table} OFFSET ${offset} LIMIT 5 RETURNING ctid`
              : `UPDATE ${shape.table} SET ${shape.touchCol} = ${shape.touchCol} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${shape.table} OFFSET ${offset} LIMIT 20))`;
            const s = performance.now();
            try {
              if (insert) inserts += await insertRows(c, sql, shape.table, fill);
              else updates += (await c.query(sql)).rowCount ?? 0;
            } catch (err) {
              errors++;
              errorCodes.add((err as { code?: string }).code ?? 'error');
            }
            this.latencies.push(performance.now() - s);
          }
        }),
      );
      fact.releasedAt = Date.now();
      const sorted = [...this.latencies].sort((a, b) => a - b);
      fact.metrics = {
        duration_ms: fact.releasedAt - fact.injectedAt,
        statements: sorted.length,
        rows_updated: updates,
        rows_inserted: inserts,
        errors,
        error_codes: [...errorCodes].join(',') || null,
        p95_ms: round(sorted[Math.floor(sorted.length * 0.95)] ?? 0),
        max_ms: round(sorted[sorted.length - 1] ?? 0),
      };
      this.announce('write-burst', 'released', t.step.id, `burst over: ${updates} rows updated, ${inserts} inserted, ${errors} errors`);
    } catch (err) {
      fact.error = (err as Error).message;
    }
  }

  private async tableShape(
    relation: string,
  ): Promise<{ table: string; rows: number; touchCol: string; copyCols: string; insertable: boolean }> {
    const c = this.clients[0] ?? (await this.connect());
    const table = await qualify(c, relation);
    const cols = await c.query<{ name: string; pk: boolean; has_default: boolean }>(sqlText('rehearsal/sql', 'drill-columns'), [table]);
    const rows = await c.query<{ n: number }>(sqlText('rehearsal/sql', 'drill-row-estimate'), [table]);
    const nonKey = cols.rows.filter((r) => !r.pk);
    const keys = cols.rows.filter((r) => r.pk);
    return {
      table,
      rows: Number(rows.rows[0]?.n ?? 0),
      touchCol: quoteIdent((nonKey[0] ?? cols.rows[0])!.name),
      copyCols: nonKey.map((r) => quoteIdent(r.name)).join(', '),
      insertable: keys.length > 0 && keys.every((k) => k.has_default) && nonKey.length > 0,
    };
  }

  private hold(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.push(setTimeout(resolve, ms)));
  }

  /** Waits for injected faults to end, closes the drill's sessions. */
  async finish(): Promise<void> {
    this.burstStop = true;
    this.startBlockerHold();
    await Promise.all(this.pending);
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(this.clients.map((c) => c.end().catch(() => {})));
  }

  /** Says, from the deploy's trace, how each fault was handled. */
  outcomes(trace: PhaseTrace, samplerIndex: { lockerPid: number | null; sentAt: number }[], intervalMs: number): DrillOutcome[] {
    const stepOf = (id?: string) => trace.steps.find((s) => s.stepId === id);
    return [this.blockerOutcome(stepOf), this.longTransactionOutcome(stepOf, samplerIndex, intervalMs), this.burstOutcome(stepOf)];
  }

  private blockerOutcome(stepOf: StepOf): DrillOutcome {
    const b = this.facts.get('blocking-transaction');
    if (this.blocker) {
      const s = stepOf(this.blocker.step.id);
      const waited = (s?.locks ?? []).filter((l) => l.waitedMs > 0).reduce((a, l) => a + l.waitedMs, 0);
      const handled = !b?.injectedAt
        ? `not injected${b?.error ? `: ${b.error}` : ''}`
        : s?.status === 'completed'
          ? s.retries > 0
            ? `${this.blocker.step.id} hit lock_timeout ${s.retries} time(s), backed off and retried, and completed after the blocker let go; each wait for the lock was cut off by lock_timeout (${this.blocker.step.settings.lockTimeoutMs} ms), so the queue behind it never grew longer than that`
            : `${this.blocker.step.id} completed without a retry (the blocker was released before lock_timeout ran out)`
          : `${this.blocker.step.id} ${s?.status ?? 'did not run'}${s?.error ? `: ${s.error}` : ''} — the operator must find the blocker (Locks panel, pg_blocking_pids) and wait for it or end it`;
      return {
        fault: 'blocking-transaction',
        stepId: this.blocker.step.id,
        injected: !!b?.injectedAt,
        what: b?.what ?? 'no step takes a strong lock',
        handled,
        metrics: {
          ...(b?.metrics ?? {}),
          retries: s?.retries ?? 0,
          retry_backoff_ms: s?.retryDelayMs ?? 0,
          sampled_wait_ms: Math.round(waited),
          blocked_by_drill: s?.blockedBy.includes(b?.pid ?? -1) ? 'yes' : 'no',
        },
      };
    }
    return notApplicable('blocking-transaction', 'no deploy step takes a SHARE or stronger lock on an existing table');
  }

  private longTransactionOutcome(stepOf: StepOf, samplerIndex: { lockerPid: number | null }[], intervalMs: number): DrillOutcome {
    const l = this.facts.get('long-transaction');
    if (this.indexTarget) {
      const s = stepOf(this.indexTarget.step.id);
      const waitingMs = Object.entries(s?.indexPhases ?? {})
        .filter(([p]) => p.startsWith('waiting'))
        .reduce((a, [, ms]) => a + ms, 0);
      const behindDrill = samplerIndex.filter((x) => x.lockerPid !== null && x.lockerPid === l?.pid).length * intervalMs;
      return {
        fault: 'long-transaction',
        stepId: this.indexTarget.step.id,
        injected: !!l?.injectedAt,
        what: l?.what ?? '',
        handled: !l?.injectedAt
          ? `not injected${l?.error ? `: ${l.error}` : ''}`
          : `the concurrent index build ${s?.status === 'completed' ? 'completed' : (s?.status ?? 'did not run')}` +
            (s?.retries
              ? ` after ${s.retries} lock_timeout retr${s.retries === 1 ? 'y' : 'ies'} (each failed attempt's INVALID index dropped and rebuilt)`
              : '') +
            `; it spent about ${waitingMs} ms in its waiting phases, ${behindDrill} ms of them behind the drill's transaction` +
            (s?.status === 'completed' ? '' : ` (${s?.error ?? 'no error recorded'})`),
        metrics: {
          ...(l?.metrics ?? {}),
          retries: s?.retries ?? 0,
          waiting_phase_ms: waitingMs,
          waited_behind_drill_ms: behindDrill,
          step_ms: s?.durationMs ?? null,
        },
      };
    }
    return notApplicable('long-transaction', 'no deploy step builds an index concurrently');
  }

  private burstOutcome(stepOf: StepOf): DrillOutcome {
    const w = this.facts.get('write-burst');
    if (this.burstTarget) {
      const s = stepOf(this.burstTarget.step.id);
      return {
        fault: 'write-burst',
        stepId: this.burstTarget.step.id,
        injected: !!w?.injectedAt,
        what: w?.what ?? '',
        handled: !w?.injectedAt
          ? `not injected${w?.error ? `: ${w.error}` : ''}`
          : `the backfill ${s?.status ?? 'did not run'} with ${s?.throttles.length ?? 0} throttle event(s)` +
            (s?.throttles.length ? ` (${[...new Set(s.throttles.map((t) => t.reason ?? 'resumed'))].join(', ')})` : '') +
            `; the application's writes saw p95 ${w.metrics.p95_ms ?? '?'} ms, max ${w.metrics.max_ms ?? '?'} ms, ${w.metrics.errors ?? 0} error(s)`,
        metrics: {
          ...(w?.metrics ?? {}),
          throttles: s?.throttles.length ?? 0,
          backfill_batches: s?.batches ?? 0,
          backfill_retries: s?.retries ?? 0,
        },
      };
    }
    return notApplicable('write-burst', 'no backfill step in the deploy phase');
  }
}

type StepOf = (id?: string) => PhaseTrace['steps'][number] | undefined;

/** The backfill's SET list, which the drill's application applies to the rows it inserts. */
function backfillSet(step: StepSpec): string | undefined {
  const set = (step.params as { set?: unknown })?.set;
  return step.kind === 'backfill' && typeof set === 'string' ? set : undefined;
}

/** Inserts copies of existing rows and, in the same transaction, fills them like the backfill does. */
async function insertRows(c: pg.Client, insert: string, table: string, fill: string | undefined): Promise<number> {
  if (!fill) return (await c.query(insert)).rowCount ?? 0;
  await c.query('BEGIN');
  try {
    const r = await c.query<{ ctid: string }>(insert);
    await c.query(`UPDATE ${table} SET ${fill}\nWHERE ctid = ANY($1::tid[])`, [r.rows.map((row) => row.ctid)]);
    await c.query('COMMIT');
    return r.rowCount ?? 0;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

function notApplicable(fault: DrillOutcome['fault'], why: string): DrillOutcome {
  return { fault, stepId: null, injected: false, what: 'not injected', handled: `not applicable: ${why}`, metrics: {} };
}

function tableOf(step: StepSpec, plan: StepPlan | undefined): string {
  const p = step.params as { table?: unknown };
  if (typeof p?.table === 'string') return p.table;
  return plan?.locks[0]?.relation ?? '';
}

/**
 * The relation as safe SQL text. A step's `table:` is SQL as the runbook wrote it (`"Order"`), a
 * plan's lock relation is the raw name (`Order`): try it as written, then quoted part by part, and
 * let the server spell the result (regclass output quotes what needs quoting).
 */
async function qualify(c: pg.Client, name: string): Promise<string> {
  const r = await c
    .query<{ rel: string | null }>(`select coalesce(to_regclass($1), to_regclass($2))::text as rel`, [name, quoteQualified(name)])
    .catch(() => c.query<{ rel: string | null }>(`select to_regclass($1)::text as rel`, [quoteQualified(name)]));
  const rel = r.rows[0]?.rel;
  if (!rel) throw new Error(`table ${name} not found in the sandbox`);
  return rel;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
