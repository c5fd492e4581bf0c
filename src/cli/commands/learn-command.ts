// `pgrunbook learn [LESSON]`: lessons that run the naive way live, then the safe way, on an
// embedded PostgreSQL with measured application traffic. Heavy modules load inside the action.
import type { Command } from 'commander';
import { InputError } from '../../util/runbook-error.js';
import { outputMode, withOutput } from '../options.js';

/** `lesson=key` (or just `key`, for every drill) -> a map of scripted answers. */
function answer(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const m = /^(?:([\w-]+)=)?(\w)$/.exec(v.trim());
  if (!m) throw new InputError(`--answer "${v}": expected LESSON=KEY or KEY`, 'for example --answer lock-queue=t');
  return { ...prev, [m[1] ?? 'drill']: m[2]! };
}

function rate(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InputError(`--rate "${v}": expected 1 to 1000 requests a second`, 'for example --rate 20');
  return n;
}

function pgMajor(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 14 || n > 18) throw new InputError(`--pg "${v}": expected 14 to 18`, 'for example --pg 17');
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command('learn [lesson]')
    .description('lessons for on-call engineers: a risky change the naive way, live, then the safe way, side by side')
    .option('--pg <major>', 'PostgreSQL major version of the embedded server (14-18)', pgMajor)
    .option('--rate <n>', 'requests a second of the synthetic application (default 40; lower it on a loaded machine)', rate)
    .option('--answer <lesson=key>', 'a drill answer for runs without a terminal (repeatable)', answer)
    .option('--report <file>', 'write a markdown report an on-call lead can keep')
    .option('--progress-file <file>', 'where progress and scores are kept (default: the user state directory)');
  withOutput(cmd).action(async (lesson: string | undefined, o) => {
    const { runLearn } = await import('../../learn/run-learn.js');
    const compose = () => import('../composition-root.js').then((m) => ({ kinds: m.STEP_KINDS, newRunner: m.newRunner }));
    const r = await runLearn({
      mode: outputMode(o),
      compose,
      lesson,
      major: o.pg,
      rate: o.rate,
      answers: o.answer,
      reportFile: o.report,
      progressFile: o.progressFile,
    });
    process.exitCode = r.exitCode;
    if (r.exitCode !== 0 && r.reason) process.stderr.write(`pgrunbook learn: ${r.reason}\n`);
    setTimeout(() => process.exit(r.exitCode), 2000).unref();
  });
}
