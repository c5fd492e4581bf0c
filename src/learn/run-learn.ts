// `pgrunbook learn [LESSON]`: the demo's embedded PostgreSQL (or a scratch database given by a
// test), the lesson screen (Ink) or plain/JSON lines, then the chosen lesson(s), progress saved
// to the state file, and the report when asked. PostgreSQL is stopped on every way out.
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { startDatabase } from '../demo/run-demo.js';
import { Shutdown, StopRequested, SIGNAL_EXIT_CODE } from '../demo/shutdown.js';
import { currentIdentity } from '../engine/operator-identity.js';
import type { RunnerFactory } from '../engine/runner.js';
import type { Monitor } from '../monitor/monitor-poller.js';
import { resolveConnection } from '../pg/connection.js';
import { DEFAULT_MAJOR } from '../pg/embedded-server.js';
import type { OutputMode } from '../render/output.js';
import type { KindTable } from '../runbook/kind-table.js';
import { createUiStore } from '../ui/store.js';
import { InputError } from '../util/runbook-error.js';
import { redactedMessage } from '../util/secrets.js';
import { RunWiring } from '../wiring/run-wiring.js';
import type { LearnContext } from './learn-context.js';
import type { ScreenAnswers } from './lesson-screen.js';
import { createLearnStore, type DrillQuestion, type LearnStore } from './learn-store.js';
import { loadLesson, loadLessons, LESSONS_DIR, type Lesson } from './lesson.js';
import { runLesson } from './lesson-run.js';
import { defaultProgressFile, readProgress, recordProgress } from './progress.js';
import { reportMarkdown, type LessonResult } from './summary.js';

export interface LearnOptions {
  mode: OutputMode;
  compose(): Promise<{ kinds: KindTable; newRunner: RunnerFactory }>;
  /** The lesson to run; without it, the start screen (or, without a terminal, the list). */
  lesson?: string;
  /** A scratch database to use instead of starting PostgreSQL (tests); its `orders` table is replaced. */
  url?: string;
  major?: number;
  rate?: number;
  /** Scripted drill answers for non-interactive runs: lesson id (or `drill`) -> key. */
  answers?: Record<string, string>;
  reportFile?: string;
  progressFile?: string;
  lessonsDir?: string;
  /** Plain / JSON output (default: stdout). */
  write?(text: string): void;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

export interface LearnResult {
  exitCode: number;
  results: LessonResult[];
  reason?: string;
}

function listLines(lessons: Lesson[], progressFile: string): string[] {
  const progress = readProgress(progressFile);
  return lessons.map((l) => {
    const p = progress[l.id];
    const done = p
      ? ` · ${p.passed ? 'passed' : 'not passed'} (${p.runs} run${p.runs > 1 ? 's' : ''})${p.drillMax ? `, drill ${p.drillScore}/${p.drillMax}` : ''}`
      : ' · not started';
    return `${l.id.padEnd(18)} ${l.title}${done}`;
  });
}

/** Without a terminal, a question needs a scripted answer. */
function scriptedAsk(opts: LearnOptions, say: (t: string) => void) {
  return async (lessonId: string, q: DrillQuestion): Promise<string> => {
    say(`question: ${q.text}`);
    for (const c of q.choices) say(`  ${c.key}) ${c.label}`);
    const key = opts.answers?.[lessonId] ?? opts.answers?.drill;
    if (!key)
      throw new InputError(
        `the drill of ${lessonId} asks a question and there is no terminal`,
        `pass --answer ${lessonId}=KEY (one of ${q.choices.map((c) => c.key).join(', ')})`,
      );
    say(`answer (scripted): ${key}`);
    return key;
  };
}

/** The Ink screen asks: the question goes into the store and the screen's key resolves it. */
function screenAsk(store: LearnStore, answer: ScreenAnswers) {
  return (_lessonId: string, q: DrillQuestion) =>
    new Promise<string>((resolve) => {
      store.setState({ question: q });
      answer.resolve = (key) => {
        store.setState({ question: undefined });
        resolve(key);
      };
    });
}

export async function runLearn(opts: LearnOptions): Promise<LearnResult> {
  const lessons = loadLessons(opts.lessonsDir ?? LESSONS_DIR);
  const progressFile = opts.progressFile ?? defaultProgressFile();
  const ink = opts.mode === 'ink';
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  if (!opts.lesson && !ink) {
    write(`${['lessons (run one with `pgrunbook learn LESSON`):', ...listLines(lessons, progressFile)].join('\n')}\n`);
    return { exitCode: 0, results: [] };
  }
  if (opts.lesson) loadLesson(opts.lessonsDir ?? LESSONS_DIR, opts.lesson);
  const shutdown = new Shutdown();
  if (!opts.url) shutdown.installSignals();
  const store = createLearnStore({ lessons, progress: readProgress(progressFile), phase: opts.lesson ? 'starting' : 'menu' });
  const ui = createUiStore({ status: 'starting PostgreSQL…' });
  const answer: ScreenAnswers = {};
  // The screen module pulls in Ink: only on a terminal.
  const screen = ink ? await import('./lesson-screen-root.js') : undefined;
  const say = (text: string) => {
    if (ink) store.setState({ status: text });
    else write(opts.mode === 'json' ? `${JSON.stringify({ type: 'learn', text })}\n` : `learn: ${text}\n`);
  };
  const wiring = new RunWiring({
    mode: opts.mode,
    store: ui,
    policy: { yes: true, allowIrreversible: true, user: `${currentIdentity().user} (learn)` },
    monitor: false,
    stop: (reason) => shutdown.request(reason),
    write,
    stdout: opts.stdout,
    stdin: opts.stdin,
    screen: screen ? screen.learnScreen(store, answer) : undefined,
  });
  const result: LearnResult = { exitCode: 0, results: [] };
  try {
    await wiring.show();
    const ctx = await openSession(opts, shutdown, { wiring, ui, store, say, ask: ink ? screenAsk(store, answer) : scriptedAsk(opts, say) });
    await teach(ctx, opts, lessons, progressFile, answer, result, shutdown);
  } catch (err) {
    result.exitCode =
      err instanceof StopRequested ? (shutdown.signal ? (SIGNAL_EXIT_CODE[shutdown.signal] ?? 1) : 1) : err instanceof InputError ? 2 : 1;
    result.reason = err instanceof StopRequested ? err.reason : redactedMessage(err);
    say(`stopped: ${result.reason}`);
  } finally {
    await shutdown.cleanup();
    await wiring.close();
  }
  if (opts.reportFile && result.results.length) writeFileSync(opts.reportFile, reportMarkdown(result.results, currentIdentity().user));
  return result;
}

async function teach(
  ctx: LearnContext,
  opts: LearnOptions,
  lessons: Lesson[],
  progressFile: string,
  answer: ScreenAnswers,
  result: LearnResult,
  shutdown: Shutdown,
): Promise<void> {
  let next: string | undefined = opts.lesson;
  for (;;) {
    if (!next) {
      ctx.store.setState({ phase: 'menu', progress: readProgress(progressFile), status: undefined });
      next = await nextPick(answer, shutdown);
      if (!next) return;
    }
    const lesson = lessons.find((l) => l.id === next) ?? loadLesson(opts.lessonsDir ?? LESSONS_DIR, next);
    const r = await shutdown.race(runLesson(ctx, lesson));
    result.results.push(r);
    if (!r.passed) result.exitCode = 1;
    recordProgress(progressFile, lesson.id, {
      naiveWorstMs: Math.round(r.naive.figures.worstMs),
      safeWorstMs: Math.round(r.safe.figures.worstMs),
      passed: r.passed,
      drillScore: r.drill?.choice.score,
      drillMax: r.drill?.max,
    });
    if (ctx.mode !== 'ink') return;
    // On the screen: the summary stays until the trainee goes back to the list (or quits).
    next = await nextPick(answer, shutdown);
    if (next === '') next = undefined;
    else if (next === undefined) return;
  }
}

/**
 * The trainee's next pick: one made before the session listened (kept by the screen in `pending`:
 * the summary shows before the lesson's traffic has stopped), else the next one. The resolver is
 * cleared once used, so a key pressed later is kept as pending rather than sent to a spent promise.
 */
async function nextPick(answer: ScreenAnswers, shutdown: Shutdown): Promise<string | undefined> {
  const early = answer.pending;
  answer.pending = undefined;
  if (early !== undefined) return early;
  try {
    return await shutdown.race(new Promise<string | undefined>((resolve) => (answer.pick = resolve)));
  } finally {
    answer.pick = undefined;
  }
}

async function openSession(
  opts: LearnOptions,
  shutdown: Shutdown,
  parts: Pick<LearnContext, 'wiring' | 'ui' | 'store' | 'say' | 'ask'>,
): Promise<LearnContext> {
  parts.say(opts.url ? 'connecting…' : `starting PostgreSQL ${opts.major ?? DEFAULT_MAJOR}…`);
  const url = opts.url ?? (await startDatabase(shutdown, opts.major ?? DEFAULT_MAJOR));
  const admin = new pg.Client({ connectionString: url, application_name: 'pgrunbook:learn' });
  admin.on('error', () => {});
  await shutdown.race(admin.connect());
  shutdown.add('learn session', () => admin.end().catch(() => {}));
  const { rows } = await admin.query<{ v: string }>('SHOW server_version');
  const { kinds, newRunner } = await shutdown.race(opts.compose());
  const connection = resolveConnection(url);
  const monitor = await startMonitor(connection, parts.ui);
  shutdown.add('monitor', () => monitor.stop().catch(() => {}));
  parts.ui.getState().setStatus(undefined);
  return { ...parts, mode: opts.mode, url, connection, admin, serverVersion: rows[0]!.v, kinds, newRunner, rate: opts.rate ?? 40 };
}

/** One monitor for the whole session: the Locks panel is fed in the naive way as in the safe way. */
async function startMonitor(connection: LearnContext['connection'], ui: LearnContext['ui']): Promise<Monitor> {
  const { Monitor } = await import('../monitor/monitor-poller.js');
  const m = Monitor.connect(connection, { intervalMs: 500, relations: ['orders'] });
  m.subscribe((s) => ui.getState().pushSample(s));
  m.onError(() => {});
  m.start();
  return m;
}
