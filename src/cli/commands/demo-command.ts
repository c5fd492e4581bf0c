// `pgrunbook demo`: the first thing a new user sees. Heavy modules load inside the action so the
// other commands do not pay for them.
import type { Command } from 'commander';
import { InputError } from '../../util/runbook-error.js';
import { hostEndpoints, outputMode, withHost, withOutput } from '../options.js';

function positiveInt(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InputError(
        `${name} "${v}": expected a whole number from ${min} to ${max}`,
        `for example ${name} ${min === 0 ? 40 : Math.max(min, 1000)}`,
      );
    return n;
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('embedded PostgreSQL, a seeded 1M-row orders table, live traffic and a guided runbook (runbooks/demo.yaml)')
    .option('--rows <n>', 'rows to seed into orders', positiveInt('--rows', 1000, 50_000_000), 1_000_000)
    .option('--rate <ops>', 'synthetic traffic, operations per second (0 = none)', positiveInt('--rate', 0, 5000), 40)
    .option('--pg <major>', 'PostgreSQL major version of the embedded server (14-18)', positiveInt('--pg', 14, 18))
    .option('--exit-when-done', 'leave as soon as the runbook ends instead of waiting for q')
    .option('--timings', 'print first-frame and ready times on stderr at the end');
  withHost(withOutput(cmd)).action(async (o) => {
    const mode = outputMode(o);
    const endpoints = hostEndpoints(o);
    const { runDemo } = await import('../../demo/run-demo.js');
    const compose = () => import('../composition-root.js').then((m) => ({ kinds: m.STEP_KINDS, newRunner: m.newRunner }));
    const host = endpoints
      ? await Promise.all([import('../../host/open-host-signals.js'), import('../../util/clock.js')]).then(([h, c]) =>
          h.openHostSignals(endpoints, c.systemClock),
        )
      : undefined;
    const r = await runDemo({
      mode,
      compose,
      rows: o.rows,
      rate: o.rate,
      major: o.pg,
      stay: !o.exitWhenDone,
      timings: !!o.timings,
      ...(host ? { host } : {}),
    });
    process.exitCode = r.exitCode;
    // Everything is closed by now; should a stray handle keep the loop alive, leave anyway.
    setTimeout(() => {
      if (process.env.PGRUNBOOK_DEBUG)
        process.stderr.write(`demo: forcing exit; still open: ${process.getActiveResourcesInfo().join(', ')}\n`);
      process.exit(r.exitCode);
    }, 2000).unref();
  });
}
