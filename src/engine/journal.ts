// The journal: every event, redacted, appended to pgrunbook.events (in order, on its own connection)
// and to a local JSONL file. Progress events are sampled so a long backfill does not flood it.
// A failed write is kept and retried in order, never dropped: the journal is history, and a
// journal outage must neither lose it nor change what the run did.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type pg from 'pg';
import type { RunEvent } from './events.js';
import type { Identity } from './operator-identity.js';
import { redactDeep } from '../util/secrets.js';
import { systemClock, type Clock } from '../util/clock.js';

const PROGRESS_EVERY_MS = 5_000;
/** Backoff between retries of a failed write; the last value repeats. */
const RETRY_MS = [250, 500, 1_000, 2_000, 5_000];

/** What the journal writes to (a pg client in production, a fake in tests). */
export interface JournalDb {
  query(sql: string, params: unknown[]): Promise<unknown>;
}

export interface JournalOptions {
  clock?: Clock;
  /** Told when writes start failing and when they recover (the runner turns it into a log event). */
  report?: (level: 'warn' | 'info', message: string) => void;
}

/** Events the database copy does not have yet, when a flush gives up waiting. */
export interface JournalBacklog {
  pending: number;
  error: string;
}

type Row = unknown[];

export class Journal {
  private readonly queue: Row[] = [];
  private lastProgressAt = new Map<string, number>();
  private writing?: Promise<void>;
  private lastError?: Error;
  private failing = false;
  private closed = new AbortController();
  private readonly clock: Clock;

  constructor(
    private readonly db: JournalDb | undefined,
    private readonly jsonlPath: string | undefined,
    private readonly who: Identity,
    private readonly opts: JournalOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    if (jsonlPath) mkdirSync(dirname(jsonlPath), { recursive: true });
  }

  /** Listener for EventBus.on. */
  readonly listener = (e: RunEvent): void => {
    if (!this.keep(e)) return;
    const clean = redactDeep(e);
    if (this.jsonlPath) {
      try {
        appendFileSync(this.jsonlPath, JSON.stringify(clean) + '\n');
      } catch {
        /* the database copy is authoritative; a full disk must not stop the run */
      }
    }
    if (!this.db || this.closed.signal.aborted) return;
    const { seq, at, runId, type, ...payload } = clean;
    const stepId = (payload as { stepId?: string }).stepId ?? null;
    this.queue.push([runId, seq, at, type, stepId, this.who.user, this.who.host, JSON.stringify(payload)]);
    this.writing ??= this.drain().finally(() => (this.writing = undefined));
  };

  private keep(e: RunEvent): boolean {
    if (e.type !== 'step.progress') return true;
    const last = this.lastProgressAt.get(e.stepId) ?? 0;
    const now = Date.parse(e.at);
    if (now - last < PROGRESS_EVERY_MS) return false;
    this.lastProgressAt.set(e.stepId, now);
    return true;
  }

  /** Writes the queue head first, retrying it with backoff until it lands or the journal is closed. */
  private async drain(): Promise<void> {
    let attempt = 0;
    while (this.queue.length && !this.closed.signal.aborted) {
      try {
        await this.db!.query(
          `INSERT INTO pgrunbook.events (run_id, seq, at, type, step_id, os_user, host, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, seq) DO NOTHING`,
          this.queue[0]!,
        );
        this.queue.shift();
        if (this.failing) this.recovered(attempt);
        attempt = 0;
      } catch (err) {
        this.lastError = err as Error;
        if (!this.failing) this.startedFailing();
        const wait = RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]!;
        await this.clock.sleep(wait, this.closed.signal).catch(() => {});
      }
    }
  }

  private startedFailing(): void {
    this.failing = true;
    this.opts.report?.(
      'warn',
      `could not write the journal to pgrunbook.events (${this.lastError!.message}); the run goes on, its events are kept and the write is retried`,
    );
  }

  private recovered(attempts: number): void {
    this.failing = false;
    this.opts.report?.(
      'info',
      `the journal is writable again after ${attempts} failed ${attempts === 1 ? 'try' : 'tries'}; no event was lost`,
    );
  }

  /**
   * Waits until every event so far is in the database, or until `waitMs` has passed on the clock.
   * Returns what is still missing then; never throws.
   */
  async flush(waitMs = Number.POSITIVE_INFINITY): Promise<JournalBacklog | undefined> {
    if (this.writing) {
      const giveUp = new AbortController();
      const timer = Number.isFinite(waitMs) ? this.clock.sleep(waitMs, giveUp.signal).catch(() => {}) : new Promise<void>(() => {});
      await Promise.race([this.writing, timer]);
      giveUp.abort();
    }
    if (!this.queue.length) return undefined;
    return { pending: this.queue.length, error: this.lastError?.message ?? 'unknown error' };
  }

  /** Stops retrying; what is still queued is left to the JSONL copy. */
  close(): void {
    this.closed.abort();
  }
}

export interface JournaledEvent {
  seq: number;
  at: string;
  type: string;
  step_id: string | null;
  os_user: string | null;
  host: string | null;
  payload: Record<string, unknown>;
}

export async function readJournal(db: { query: pg.Pool['query'] }, runId: string): Promise<JournaledEvent[]> {
  const r = await db.query<JournaledEvent>(
    `SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, type, step_id, os_user, host, payload
       FROM pgrunbook.events WHERE run_id = $1 ORDER BY seq`,
    [runId],
  );
  return r.rows;
}
