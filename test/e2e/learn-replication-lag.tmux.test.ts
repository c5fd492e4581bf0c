// `pgrunbook learn backfill-replication-lag` in a real terminal (tmux, 80 columns): the lesson makes
// a real streaming standby (a second postmaster), the naive way leaves it over the lesson's bar on
// the standby line, the safe way's lagging-standby drill is asked and answered by key, the summary
// gives the standby's figures and the drill's measured explanation, the list keeps the score, and q
// stops both servers.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLesson, LESSONS_DIR } from '../../src/learn/lesson.js';
import { readProgress } from '../../src/learn/progress.js';
import { parseBytes } from '../../src/monitor/units.js';
import { formatBytes } from '../../src/util/units.js';
import { BIN, ROOT } from '../support/cli.js';
import { alive, postmastersUnder, TERMINAL_ENV, TmuxPane, tmuxForTests, waitUntil } from './support/tmux.js';

const panes: TmuxPane[] = [];
afterEach(() => {
  for (const p of panes.splice(0)) p.killServer();
});

const lesson = loadLesson(LESSONS_DIR, 'backfill-replication-lag');
const bar = formatBytes(lesson.standby!.max_lag);
const LESSON_MS = 300_000; // the lesson under load on 2 cores: two ways, a catch-up, a stall
const STANDBY_LINE = new RegExp(`standby (\\d+(?:\\.\\d+)? (?:B|kB|MB)) behind \\(replay_lag \\S+, bar ${bar.replace('.', '\\.')}\\)`);

function expectFits(screen: string): void {
  for (const l of screen.split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);
}

const tmux = tmuxForTests('real-terminal learn tests');

describe.skipIf(!tmux)('pgrunbook learn backfill-replication-lag in a real terminal (tmux, 80×40)', () => {
  it('naive way over the bar on the standby line → drill asked and answered by key → summary → list → q', {
    timeout: LESSON_MS + 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'learn-tmux-'));
    const progressFile = join(dir, 'learn.json');
    const pane = new TmuxPane('learn-lag', { columns: 80, rows: 40 });
    panes.push(pane);
    pane.start(
      `cd ${ROOT} && ${process.execPath} ${BIN} learn ${lesson.id} --rate 25 --progress-file ${progressFile}; echo "EXIT=$?"; sleep 60`,
      TERMINAL_ENV,
    );

    // The naive way: the standby line shows it further behind than the lesson's bar.
    let screen = await pane.waitForScreen(
      (s) => {
        const m = STANDBY_LINE.exec(s);
        return s.includes('1/2 the naive way, live') && !!m && parseBytes(m[1]!) > lesson.standby!.max_lag;
      },
      `the naive way with the standby over ${bar} behind`,
      LESSON_MS,
    );
    expect(screen).toContain(`pgrunbook learn · ${lesson.title}`);
    expectFits(screen);
    // The primary and its standby: two postmasters under the pane.
    const pms = postmastersUnder(pane.panePid());
    expect(pms).toHaveLength(2);

    screen = await pane.waitForScreen((s) => s.includes('DRILL ·'), 'the drill question in the safe way', LESSON_MS);
    expect(screen).toContain('2/2 the safe way (runbook)');
    expect(screen).toContain('DRILL · The standby has stopped replaying');
    const best = lesson.drill!.choices.reduce((b, c) => (c.score > b.score ? c : b));
    for (const c of lesson.drill!.choices) expect(screen).toContain(`${c.key}) ${c.label.slice(0, 40)}`);
    expectFits(screen);
    pane.type(best.key);

    screen = await pane.waitForScreen((s) => s.includes('enter: back to the lessons'), 'the summary', LESSON_MS);
    const flat = screen.replace(/\n/g, ' ').replace(/ +/g, ' ');
    expect(flat).toMatch(/standby \(replaying at most \S+ \S+\/s\): naive way \S+ \S+ behind at most/);
    expect(flat).toContain(`drill: you chose "${best.label}"`);
    expect(flat).toMatch(/measured during the \S+ stall: the standby replayed \S+ \S+ of the \S+ \S+ it received/);
    expectFits(screen);
    const passed = flat.includes('passed: no request over');
    expect(passed || flat.includes('not passed:')).toBe(true);

    pane.keys('Enter');
    screen = await pane.waitForScreen((s) => s.includes('pgrunbook learn · lessons') && s.includes('· 1 run'), 'the list with progress');
    expect(screen).toContain(`drill ${best.score}/${best.score}`);
    expectFits(screen);
    await waitUntil(() => readProgress(progressFile)[lesson.id] !== undefined, 'the lesson in the progress file', 15_000);
    expect(readProgress(progressFile)[lesson.id]).toMatchObject({ runs: 1, drillScore: best.score, drillMax: best.score });

    pane.type('q');
    screen = await pane.waitForScreen((s) => /EXIT=\d+/.test(s), 'pgrunbook to exit', 30_000);
    // 0 when the lesson passed, 1 when it did not (docs/learn.md).
    expect(Number(/EXIT=(\d+)/.exec(screen)![1])).toBe(passed ? 0 : 1);
    for (const pm of pms) {
      await waitUntil(() => !alive(pm.pid), `postmaster ${pm.pid} to stop`, 20_000);
      await waitUntil(() => !existsSync(pm.dataDir), `${pm.dataDir} to be removed`, 5_000);
    }
  });
});
