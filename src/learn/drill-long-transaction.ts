// The long_transaction drill: a long query (a data export) is running when the runbook's
// CREATE INDEX CONCURRENTLY starts. Before the build can finish it waits for every transaction
// whose snapshot is older than its own, whatever table that transaction reads: the export's.
// The question comes once the build has waited `ask_after` on the export's session, as the
// build's own progress says (pg_stat_progress_create_index's current_locker_pid).
import pg from 'pg';
import type { RunEvent } from '../engine/events.js';
import { sqlText } from '../pg/sql-files.js';
import type { Runner } from '../engine/runner.js';
import {
  abortChange,
  drillAsking,
  drillResult,
  formatSecs,
  runEffect,
  terminateBlocker,
  waitUntilCap,
  type ArmedDrill,
  type DrillAnswer,
} from './drill-answer.js';
import type { LearnContext } from './learn-context.js';
import type { Drill, Lesson } from './lesson.js';

const APPLICATION = 'learn:nightly-export';
/** The export (learn/sql/drill-export.sql) runs longer than any lesson: only the trainee's answer (or the drill's end) stops it. */
const EXPORT_SQL = (): string => sqlText('learn/sql', 'drill-export');
/** The export's statement as the trainee reads it: the file without its comments. */
const exportStatement = (): string =>
  EXPORT_SQL()
    .split('\n')
    .filter((l) => !l.startsWith('--'))
    .join(' ')
    .trim();

/** The export: its own session, its statement running (with its snapshot) until cancelled or ended. */
class LongQuery {
  private readonly client: pg.Client;
  private running?: Promise<void>;
  pid?: number;
  startedAt = 0;
  /** When and how the query ended: the server's error message when cancelled or terminated. */
  endedAt?: number;
  endedWith?: string;

  constructor(url: string) {
    this.client = new pg.Client({ connectionString: url, application_name: APPLICATION });
    this.client.on('error', () => {});
  }

  /** Resolves once the query runs with its snapshot taken (pg_stat_activity shows its backend_xmin). */
  async start(admin: pg.Client): Promise<void> {
    await this.client.connect();
    this.pid = (this.client as unknown as { processID?: number }).processID;
    this.startedAt = performance.now();
    this.running = this.client.query(EXPORT_SQL()).then(
      () => {},
      (err: Error) => {
        this.endedAt = performance.now();
        this.endedWith = err.message;
      },
    );
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query(sqlText('learn/sql', 'drill-export-running'), [this.pid]);
      if (rows.length) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the drill's export (pid ${this.pid}) did not start within 5 s`);
  }

  async end(admin: pg.Client): Promise<void> {
    if (this.pid && this.endedAt === undefined) await admin.query('SELECT pg_cancel_backend($1)', [this.pid]).catch(() => {});
    await this.running;
    await this.client.end().catch(() => {});
  }
}

async function act(ctx: LearnContext, runner: Runner, q: LongQuery, a: DrillAnswer, capMs: number) {
  const ran = formatSecs(performance.now() - q.startedAt);
  if (a.choice.action === 'cancel_blocker') {
    ctx.say(`drill: cancelling the query of pid ${q.pid} (${APPLICATION}) after ${ran}; its session stays connected`);
    await ctx.admin.query('SELECT pg_cancel_backend($1)', [q.pid]);
  } else if (a.choice.action === 'terminate_blocker')
    await terminateBlocker(ctx, q.pid, APPLICATION, `its session is closed (its query ran ${ran})`);
  else if (a.choice.action === 'abort') abortChange(ctx, runner, 'the index build; the step drops the INVALID index it leaves');
  else return waitUntilCap(ctx, runner, capMs, 'the index build keeps waiting for the export');
  return undefined;
}

export async function armLongTransaction(ctx: LearnContext, lesson: Lesson, drill: Drill, runner: Runner): Promise<ArmedDrill> {
  const q = new LongQuery(ctx.url);
  await q.start(ctx.admin);
  ctx.say(`drill: a long query (${APPLICATION}, pid ${q.pid}) is running: ${exportStatement()}`);
  const asking = drillAsking(ctx, lesson, drill, runner);
  // When the build's progress first named the export as the session it waits for, its phase then,
  // and when it first named another (or none) after that.
  let waitFrom: number | undefined;
  let waitPhase = '';
  let waitTo: number | undefined;
  let asked = false;
  const off = runner.bus.on((e: RunEvent) => {
    if (e.type !== 'step.progress' || e.progress.kind !== 'index') return;
    const now = performance.now();
    if (e.progress.currentLockerPid !== q.pid) {
      if (waitFrom !== undefined) waitTo ??= now;
      return;
    }
    waitFrom ??= now;
    waitPhase = e.progress.phase;
    if (asked || now - waitFrom < drill.ask_after) return;
    asked = true;
    asking.ask((a) => act(ctx, runner, q, a, lesson.cap));
  });
  return {
    end: async () => {
      off();
      asking.stop();
      await q.end(ctx.admin);
    },
    result: (status, endedAt) => {
      const answer = asking.answer;
      if (!answer || waitFrom === undefined) return undefined;
      const answeredAt = answer.askedAt + answer.decidedMs;
      // The wait ends with the export's snapshot, or when the build's progress names someone else, or with the run.
      const waitEnd = Math.min(waitTo ?? endedAt, q.endedAt ?? endedAt, endedAt);
      const waited = waitEnd - waitFrom;
      const why = waitEnd === q.endedAt ? ', when the export ended' : waitEnd === waitTo ? '' : ', when the run ended';
      const after = `until ${formatSecs(waitEnd - answeredAt)} after your answer${why}`;
      const exportEnd =
        q.endedAt !== undefined && q.endedAt <= endedAt
          ? `the export ended ${formatSecs(q.endedAt - q.startedAt)} after it started (${q.endedWith})`
          : 'the export was still running when the run ended';
      const measured =
        `measured: the index build waited ${formatSecs(waited)} for pid ${q.pid} (${APPLICATION}, phase "${waitPhase}"), ` +
        `${after}; ${exportEnd}.`;
      return drillResult(drill, answer, runEffect(answer, status, endedAt), measured);
    },
  };
}
