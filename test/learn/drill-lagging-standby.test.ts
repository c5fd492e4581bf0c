// The replication-lag lesson's lagging_standby drill from real runs (scripted answers, real
// PostgreSQL and a real streaming standby): once the backfill starts, the standby's replay is
// stopped for the drill's stall_for. The fault must really happen (the standby replayed almost
// nothing of what it received, and the lag read on the primary went over the throttle's limit),
// and the score must follow the answer: watching the throttle scores full marks, pausing less (and
// the backfill really sat paused until the standby replayed again), aborting nothing (rows left NULL).
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseBytes } from '../../src/monitor/units.js';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { formatBytes } from '../../src/util/units.js';
import { majors } from '../support/pg.js';
import { drillLesson, runAnswered } from './support/drill-lesson.js';

const { lesson, drill, choice, best } = drillLesson('backfill-replication-lag');
/** The throttle's limit, from the lesson's own runbook. */
const throttleLimit = parseBytes(
  parse(readFileSync(lesson.runbookFile, 'utf8')).phases.deploy[0].backfill.throttle.replication_lag_bytes as string,
);
const SIZE = String.raw`(\d+(?:\.\d+)? (?:B|kB|MB|GB))`;
const MEASURED = new RegExp(
  String.raw`measured during the (\S+) stall: the standby replayed ${SIZE} of the ${SIZE} it received; it fell ${SIZE} behind at most \(replay_lag up to (\S+)\), (.*?) when asked; the throttle held the backfill (\d+) times? on replication_lag(?:, the backfill sat paused (\S+))?; (.*)\.`,
);

function measured(text: string) {
  const m = MEASURED.exec(text);
  expect(m, text).not.toBeNull();
  return {
    replayed: parseBytes(m![2]!),
    received: parseBytes(m![3]!),
    maxLag: parseBytes(m![4]!),
    holds: Number(m![7]),
    paused: m![8],
    verdict: m![9]!,
  };
}

async function unfilled(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE updated_at IS NULL')).rows[0]!.n;
  } finally {
    await c.end();
  }
}

describe('the backfill-replication-lag lagging_standby drill, scored from a real run', () => {
  // A standby replays the whole cluster's WAL: a server of its own, as in lessons.test.ts.
  let own: EmbeddedServer;
  beforeAll(async () => {
    own = await EmbeddedServer.start({ major: majors()[0] });
  }, 60_000);
  afterAll(async () => {
    await own?.stop();
  });

  /** `sawLimit`: the drill's 200 ms samples must have caught the lag over the limit (an abort can end the stall sooner). */
  function faultHappened(text: string, sawLimit = true) {
    const f = measured(text);
    expect(text).toMatch(/drill: the standby, \S+ \S+ behind \(replay_lag \S+\), stops replaying for \S+ \(pgrunbook paused its replay/);
    expect(text).toMatch(/drill: the standby replays again \(standby /);
    // The standby received the backfill's WAL but replayed (almost) none of it while stalled. (What it
    // received can be under the throttle's limit: the stall can start with the standby already behind.)
    expect(f.received, text).toBeGreaterThan(0);
    expect(f.replayed, text).toBeLessThan(f.received / 10);
    // Read on the primary: the lag went over the throttle's limit, and the throttle held on it.
    if (sawLimit) expect(f.maxLag, text).toBeGreaterThan(throttleLimit);
    expect(f.holds, text).toBeGreaterThan(0);
    return f;
  }

  /** One run answered with `c`: the fault happened, the runbook completed, the answer scored as the lesson says, every row filled. */
  async function answeredWith(c: (typeof drill.choices)[number]) {
    const run = await runAnswered(own.url, lesson, c.key, 25);
    const { res, text } = run;
    expect(res.safe.status, text).toBe('completed');
    expect(res.drill!.choice.key).toBe(c.key);
    expect(res.drill!.choice.score).toBe(c.score);
    expect(res.drill!.max).toBe(best.score);
    expect(await unfilled(own.url)).toBe(0);
    return { ...run, f: faultHappened(text) };
  }

  it('wait: the throttle holds the backfill through the stall, it completes; full marks, explained from the lag', async () => {
    const w = choice('wait');
    expect(w.key).toBe(best.key);
    const { r, res, text, progress, report, f } = await answeredWith(w);
    expect(f.paused).toBeUndefined();
    expect(text).toContain('drill: waiting; the throttle holds the batches while the standby is behind');
    // The verdict follows the measured lag against the lesson's bar.
    const bar = formatBytes(lesson.standby!.max_lag);
    expect(f.verdict).toBe(
      f.maxLag <= lesson.standby!.max_lag
        ? `the throttle kept it within the lesson's ${bar} bar by itself`
        : `it went past the lesson's ${bar} bar: the throttle alone was not enough, pausing was the call`,
    );
    expect(res.standby!.safe.maxBytes, text).toBeLessThanOrEqual(lesson.standby!.max_lag);
    expect(text).not.toContain('An experienced operator would');
    expect(r.exitCode, text).toBe(0);
    expect(progress).toMatchObject({ drillScore: best.score, drillMax: best.score });
    expect(report).toContain(`${best.score}/${best.score}`);
  }, 300_000);

  it('pause: the backfill sits paused until the standby replays again, then completes; fewer points, the better answer named', async () => {
    const p = choice('pause');
    expect(p.score).toBeLessThan(best.score);
    const { text, progress, report, f } = await answeredWith(p);
    expect(text).toContain('drill: pausing the backfill between batches');
    expect(text).toContain('drill: resuming the backfill');
    // From the runner's own pause and unpause events.
    expect(f.paused, text).toMatch(/^\d/);
    // The backfill sat paused: the verdict does not credit the throttle alone with the lag.
    const bar = formatBytes(lesson.standby!.max_lag);
    expect(f.verdict).toBe(`it ${f.maxLag <= lesson.standby!.max_lag ? 'stayed within' : 'went past'} the lesson's ${bar} bar`);
    expect(text).toContain(`: ${p.score}/${best.score}. The runbook completed`);
    expect(text).toContain(`An experienced operator would "${best.label}"`);
    expect(progress).toMatchObject({ drillScore: p.score, drillMax: best.score });
    expect(report).toContain(`An experienced operator would "${best.label}"`);
  }, 300_000);

  it('abort: the backfill stops while the standby is stalled, rows stay NULL; no points, the better answer named', async () => {
    const a = choice('abort');
    expect(a.score).toBeLessThan(choice('pause').score);
    const { res, text, progress } = await runAnswered(own.url, lesson, a.key, 25);
    expect(res.safe.status, text).toBe('aborted');
    expect(res.drill!.choice.score).toBe(a.score);
    faultHappened(text, false);
    expect(text).toContain('drill: aborting the backfill');
    expect(text).toContain(`: ${a.score}/${best.score}. The runbook ended aborted`);
    expect(text).toContain(`An experienced operator would "${best.label}"`);
    // What the summary says happened is what happened: the backfill stopped part-way.
    expect(await unfilled(own.url)).toBeGreaterThan(0);
    expect(progress).toMatchObject({ drillScore: a.score, drillMax: best.score });
  }, 300_000);
});
