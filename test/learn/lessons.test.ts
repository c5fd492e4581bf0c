// Every shipped lesson end to end, without a terminal (scripted drill answers), against real
// PostgreSQL: the naive way must really block the application (a request waited over 1 s), the
// safe way must not (no request over the lesson's bar), and the summary, the progress file and the
// report carry the figures measured in this run. A replication-lag lesson instead must really leave
// its streaming standby further behind than its bar the naive way, and not the safe way.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_KINDS, newRunner } from '../../src/cli/composition-root.js';
import { loadLessons } from '../../src/learn/lesson.js';
import { readProgress } from '../../src/learn/progress.js';
import { runLearn } from '../../src/learn/run-learn.js';
import { formatBytes, formatMs } from '../../src/util/units.js';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { majors, useTestDatabase } from '../support/pg.js';

const compose = async () => ({ kinds: STEP_KINDS, newRunner });

describe.each(loadLessons().map((l) => [l.id, l] as const))('lesson %s', (id, lesson) => {
  const db = useTestDatabase();
  // A standby replays the whole cluster's WAL: on the suite's shared server, other test files'
  // writes would count as lag, so a standby lesson gets a server of its own (as `pgrunbook learn` does).
  let own: EmbeddedServer | undefined;
  beforeAll(async () => {
    if (lesson.standby) own = await EmbeddedServer.start({ major: majors()[0] });
  }, 60_000);
  afterAll(async () => {
    await own?.stop();
  });

  it('blocks the application the naive way and not the safe way, with figures from the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'learn-'));
    const progressFile = join(dir, 'learn.json');
    const reportFile = join(dir, 'report.md');
    const out: string[] = [];
    const r = await runLearn({
      mode: 'plain',
      compose,
      lesson: id,
      url: own?.url ?? db.url,
      // Below the default 40/s: the lessons still queue dozens of requests, with less work for a loaded machine.
      rate: 25,
      answers: { [id]: lesson.drill ? lesson.drill.choices.reduce((b, c) => (c.score > b.score ? c : b)).key : 'x' },
      progressFile,
      reportFile,
      write: (t) => void out.push(t),
    });
    const text = out.join('');
    expect(r.reason, text).toBeUndefined();
    expect(r.exitCode, text).toBe(0);
    const [res] = r.results;
    if (lesson.standby) {
      // The naive way: the standby fell further behind than the bar; the runbook's throttle kept it under.
      const s = res!.standby!;
      expect(s.naive.samples, text).toBeGreaterThan(0);
      expect(s.naive.maxBytes, text).toBeGreaterThan(lesson.standby.max_lag);
      expect(s.naive.overBarMs, text).toBeGreaterThan(0);
      expect(s.safe.samples, text).toBeGreaterThan(0);
      expect(s.safe.maxBytes, text).toBeLessThanOrEqual(lesson.standby.max_lag);
      expect(text).toMatch(/throttle: replication_lag \(pgrunbook_standby_\w+ [\d.]+ MB/);
      expect(text).toContain(`naive way ${formatBytes(s.naive.maxBytes)} behind at most`);
      expect(text).toContain(`runbook ${formatBytes(s.safe.maxBytes)} behind at most`);
      // The runbook filled every row.
      const c = new pg.Client({ connectionString: own!.url });
      await c.connect();
      try {
        expect((await c.query('SELECT count(*)::int AS n FROM orders WHERE updated_at IS NULL')).rows).toEqual([{ n: 0 }]);
      } finally {
        await c.end();
      }
    } else {
      // The naive way: the application stalled behind the DDL.
      expect(res!.naive.figures.worstMs, text).toBeGreaterThan(1000);
      expect(res!.naive.figures.overBar).toBeGreaterThan(0);
      expect(text).toMatch(/naive: app \d+ req\/s, \d+ in flight, [1-9]\d* waiting over/);
      // The Locks panel's queue: sessions waited behind the naive DDL.
      expect(text).toMatch(/naive: .*locks: [1-9]\d* sessions waiting/);
    }
    // The safe way: the runbook completed and no request crossed the bar.
    expect(res!.safe.status).toBe('completed');
    expect(res!.safe.figures.requests).toBeGreaterThan(0);
    expect(res!.safe.figures.worstMs, text).toBeLessThanOrEqual(lesson.bar);
    expect(res!.safe.figures.overBar, text).toBe(0);
    // The summary's figures are the measured ones.
    expect(text).toContain(`worst ${formatMs(res!.naive.figures.worstMs)}`);
    expect(text).toContain(`none over ${formatMs(lesson.bar)}`);
    if (lesson.bad_deploy) {
      // The naive way's change broke writes until the hand-typed fix; the runbook's rollback phase
      // restored service: errors during the bad deploy, none in the watch after the rollback.
      const b = res!.rollback!;
      expect(res!.naive.figures.failed, text).toBeGreaterThan(0);
      expect(b.status, text).toBe('completed');
      expect(b.errorsDuring, text).toBeGreaterThan(0);
      expect(b.restoreMs).toBeGreaterThan(lesson.bad_deploy.roll_back_after);
      expect(b.requestsAfter).toBeGreaterThan(0);
      expect(b.errorsAfter, text).toBe(0);
      expect(text).toContain(`${b.errorsDuring} of ${b.requestsDuring} requests failed during the bad deploy`);
      expect(text).toContain(`after it 0 of ${b.requestsAfter} failed`);
      expect(text).toMatch(/orders_status_not_packed|check constraint/);
    }
    if (lesson.drill) {
      expect(res!.drill?.choice.score).toBe(res!.drill?.max);
      expect(text).toContain('answer (scripted)');
    }
    expect(readProgress(progressFile)[id]).toMatchObject({ runs: 1, passed: true, naiveWorstMs: Math.round(res!.naive.figures.worstMs) });
    expect(readFileSync(reportFile, 'utf8')).toContain(`worst ${formatMs(res!.naive.figures.worstMs)}`);
  }, 240_000); // a few minutes at most at load 20 (seed, two runs of the change, the runbook)
});
