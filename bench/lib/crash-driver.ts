// Runs a backfill in a child process and SIGKILLs it at random moments, restarting it with the same
// run id and step id each time, until the requested number of kills has landed mid-backfill; then
// lets the last child finish. Shared by bench/backfill-crash.ts and test/backfill/crash.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./backfill-child.ts', import.meta.url));

export interface CrashOptions {
  url: string;
  runId: string;
  stepId: string;
  params: Record<string, unknown>;
  kills: number;
  /** Upper bound of the random delay (ms after the child says "ready") for the next kill. */
  maxDelayMs: (s: { killsLeft: number; delays: number[] }) => number | Promise<number>;
  random?: () => number;
  log?: (line: string) => void;
  /**
   * An action for this life (a server crash...): when given, it runs once the life's first batch has
   * committed, and the kill timer starts after it.
   */
  midLife?: (life: number) => (() => Promise<void>) | undefined;
  /**
   * Start each kill timer only once the life has committed a batch, so every kill finds a cursor to
   * resume from (a loaded machine can otherwise spend the whole delay before the first batch).
   */
  killAfterFirstBatch?: boolean;
}

export interface CrashOutcome {
  kills: number;
  lives: number;
  /** Kill moments, ms after "ready" in each life. */
  delays: number[];
  finalResult: any;
}

interface Life {
  child: ChildProcess;
  ready: Promise<void>;
  batching: Promise<void>;
  ended: Promise<{ done?: any; error?: string; signal: NodeJS.Signals | null }>;
}

function startChild(o: CrashOptions): Life {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, JSON.stringify({ url: o.url, runId: o.runId, stepId: o.stepId, params: o.params })],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (b) => (stderr = (stderr + b).slice(-4000)));
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  let onBatching: () => void = () => {};
  const batching = new Promise<void>((r) => (onBatching = r));
  let done: any;
  let error: string | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let m: any;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.t === 'ready') onReady();
    if (m.t === 'progress') onBatching();
    if (m.t === 'done') done = m.result;
    if (m.t === 'error') error = `${m.message}${m.hint ? ` (${m.hint})` : ''}`;
  });
  const ended = new Promise<{ done?: any; error?: string; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      onReady();
      onBatching();
      resolve({ done, error: error ?? (code && code !== 0 && !done ? `child exited ${code}: ${stderr}` : undefined), signal });
    }),
  );
  return { child, ready, batching, ended };
}

export async function crashLoop(o: CrashOptions): Promise<CrashOutcome> {
  const random = o.random ?? Math.random;
  const delays: number[] = [];
  let kills = 0;
  let lives = 0;
  for (;;) {
    const life = startChild(o);
    lives++;
    await life.ready;
    if (kills >= o.kills) {
      const end = await life.ended;
      if (end.error || !end.done) throw new Error(`final run failed: ${end.error ?? 'no result'}`);
      return { kills, lives, delays, finalResult: end.done };
    }
    const action = o.midLife?.(lives);
    if (action || o.killAfterFirstBatch) await life.batching;
    if (action) {
      if (life.child.exitCode === null && life.child.signalCode === null) await action();
    }
    const timerFrom = performance.now();
    const delay = Math.round(random() * (await o.maxDelayMs({ killsLeft: o.kills - kills, delays })));
    const timer = new Promise<'kill'>((r) => setTimeout(() => r('kill'), Math.max(0, delay - (performance.now() - timerFrom))));
    const first = await Promise.race([timer, life.ended.then(() => 'ended' as const)]);
    if (first === 'kill' && life.child.exitCode === null && life.child.signalCode === null) {
      life.child.kill('SIGKILL');
      const end = await life.ended;
      if (end.signal === 'SIGKILL' && !end.done) {
        kills++;
        delays.push(delay);
        o.log?.(`kill ${kills}/${o.kills} after ${delay} ms`);
        continue;
      }
    }
    // The child finished (or failed) before the kill landed.
    const end = await life.ended;
    if (end.error) throw new Error(`child failed: ${end.error}`);
    return { kills, lives, delays, finalResult: end.done };
  }
}
