// The journal: every event, redacted, appended to pgrunbook.events (in order, on its own connection)
// and to a local JSONL file. Progress events are sampled so a long backfill does not flood it.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type pg from 'pg';
import type { RunEvent } from './events.js';
import type { Identity } from './operator-identity.js';
import { redactDeep } from '../util/secrets.js';

const PROGRESS_EVERY_MS = 5_000;

export class Journal {
  private chain: Promise<void> = Promise.resolve();
  private lastProgressAt = new Map<string, number>();
  private failed?: Error;

  constructor(
    private readonly db: pg.ClientBase | undefined,
    private readonly jsonlPath: string | undefined,
    private readonly who: Identity,
  ) {
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
    if (!this.db) return;
    const { seq, at, runId, type, ...payload } = clean;
    const stepId = (payload as { stepId?: string }).stepId ?? null;
    this.chain = this.chain.then(() =>
      this.db!
        .query(
          `INSERT INTO pgrunbook.events (run_id, seq, at, type, step_id, os_user, host, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, seq) DO NOTHING`,
          [runId, seq, at, type, stepId, this.who.user, this.who.host, JSON.stringify(payload)],
        )
        .then(
          () => undefined,
          (err: Error) => {
            this.failed ??= err;
          },
        ),
    );
  };

  private keep(e: RunEvent): boolean {
    if (e.type !== 'step.progress') return true;
    const last = this.lastProgressAt.get(e.stepId) ?? 0;
    const now = Date.parse(e.at);
    if (now - last < PROGRESS_EVERY_MS) return false;
    this.lastProgressAt.set(e.stepId, now);
    return true;
  }

  /** Waits until every event so far is in the database. Throws if a write failed. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failed) {
      const err = this.failed;
      this.failed = undefined;
      throw new Error(`could not write the journal to pgrunbook.events: ${err.message}`);
    }
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
