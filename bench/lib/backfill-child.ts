// Child process for the crash tests: runs (or resumes) one backfill step and reports on stdout as
// JSON lines: {"t":"ready"} just before the backfill starts, {"t":"progress","rows":n}, then
// {"t":"done",...} or {"t":"error",...}. The parent kills it with SIGKILL at random moments.
//   node --import tsx bench/lib/backfill-child.ts '{"url":..,"runId":..,"stepId":..,"params":{..}}'
import { backfill } from '../../src/steps/backfill.js';
import { backfillContext, backfillStep } from './backfill-context.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { url: string; runId: string; stepId: string; params: any };
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const step = backfillStep(args.stepId, args.params);
const ctx = await backfillContext(args.url, step, args.runId, (e) => {
  if (e.type === 'step.progress' && e.progress.kind === 'backfill')
    out({ t: 'progress', rows: e.progress.rowsDone, pass: e.progress.pass });
});
try {
  out({ t: 'ready' });
  const result = await backfill.apply(step, ctx);
  out({ t: 'done', result });
  process.exitCode = 0;
} catch (err: any) {
  out({ t: 'error', message: err?.message, hint: err?.hint });
  process.exitCode = 1;
} finally {
  await ctx.close();
}
