// `pgrunbook monitor`: the live panels alone, against any database. Ink on a terminal; otherwise (or
// with --plain / --json) one line or one JSON object per sample. Stops cleanly on q, Ctrl+C, SIGINT,
// SIGTERM, SIGHUP, a closed stdout, or after --count samples.
import { createElement } from 'react';
import type { Command } from 'commander';
import { render } from 'ink';
import { InputError, RunbookError } from '../../util/runbook-error.js';
import { Monitor } from '../../monitor/monitor-poller.js';
import { formatSampleLine } from '../../monitor/monitor-text.js';
import { parseDuration } from '../../monitor/units.js';
import { describeTarget, explainConnectionError } from '../../pg/connection.js';
import { redact, redactDeep } from '../../util/secrets.js';
import { MonitorApp } from '../../ui/monitor-app.js';
import { applyColorPolicy } from '../../ui/color.js';
import { outputMode, withDb, withOutput } from '../options.js';
import { connectionOrExit } from './run-command.js';

export interface MonitorCommandOptions {
  db?: string;
  interval: string;
  longQuery: string;
  relation: string[];
  allDatabases?: boolean;
  count?: string;
  plain?: boolean;
  json?: boolean;
}

function durationOption(flag: string, value: string, minMs: number): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new InputError(`${flag} ${value}: ${(err as Error).message}`, `for example ${flag} 1s or ${flag} 500ms`);
  }
  if (ms < minMs) throw new InputError(`${flag} ${value}: must be at least ${minMs} ms`, `for example ${flag} 1s`);
  return ms;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  withOutput(
    withDb(
      program
        .command('monitor')
        .description('live lock, long-query, replication and index-build panels for any database (read-only, short timeouts)')
        .option('--interval <duration>', 'time between polls', '1s')
        .option('--long-query <duration>', 'a statement or transaction older than this is a long query', '5s')
        .option('--relation <name>', 'also track the total size of this relation (repeatable)', collect, [])
        .option('--all-databases', 'sessions and index builds of every database on the server, not just this one')
        .option('--count <n>', 'stop after n samples (plain and JSON output)'),
    ),
  ).action((o: MonitorCommandOptions) => runMonitor(o));
}

export async function runMonitor(o: MonitorCommandOptions): Promise<void> {
  const mode = outputMode(o);
  const intervalMs = durationOption('--interval', o.interval, 100);
  const longQuerySeconds = durationOption('--long-query', o.longQuery, 0) / 1000;
  let count: number | undefined;
  if (o.count !== undefined) {
    count = Number(o.count);
    if (!Number.isInteger(count) || count < 1) throw new InputError(`--count ${o.count}: expected a whole number of samples, 1 or more`);
  }
  const spec = connectionOrExit(o.db);
  const monitor = Monitor.connect(spec, { intervalMs, longQuerySeconds, relations: o.relation, allDatabases: o.allDatabases ?? false });

  // The first poll up front: a wrong URL or a server that is down fails here, clearly.
  let first;
  try {
    first = await monitor.poll();
  } catch (err) {
    await monitor.stop().catch(() => {});
    throw new RunbookError(explainConnectionError(err, spec), {
      hint: 'check --db (or DATABASE_URL / PGHOST...) and that the server accepts connections',
    });
  }

  let finish!: (why: string) => void;
  const finished = new Promise<string>((resolve) => (finish = resolve));
  const onSignal = (sig: NodeJS.Signals) => finish(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const onOutputError = (err: NodeJS.ErrnoException) => finish(`output closed (${err.code ?? err.message})`);
  process.stdout.on('error', onOutputError);

  try {
    if (mode === 'ink') {
      const color = applyColorPolicy();
      const instance = render(
        createElement(MonitorApp, {
          feed: monitor,
          target: describeTarget(spec.target),
          color,
          cancel: (pid: number) => monitor.cancelOwn(pid),
          describeError: (err: unknown) => explainConnectionError(err, spec),
        }),
        { exitOnCtrlC: true, patchConsole: false, maxFps: 10 },
      );
      monitor.start(intervalMs);
      void instance.waitUntilExit().then(
        () => finish('quit'),
        () => finish('quit'),
      );
      await finished;
      try {
        instance.unmount();
      } catch {
        /* the terminal is gone (SIGHUP, EIO): nothing left to draw on */
      }
    } else {
      let n = 0;
      let lastError = '';
      const write = (line: string) => {
        if (!process.stdout.writable) return finish('output closed');
        process.stdout.write(line + '\n');
      };
      const emit = (s: typeof first) => {
        if (count !== undefined && n >= count) return;
        lastError = '';
        write(mode === 'json' ? JSON.stringify(redactDeep(s)) : redact(formatSampleLine(s)));
        if (count !== undefined && ++n >= count) finish('count');
      };
      monitor.subscribe(emit);
      monitor.onError((err) => {
        const msg = explainConnectionError(err, spec);
        if (msg !== lastError) process.stderr.write(`pgrunbook monitor: ${msg} (retrying every ${intervalMs} ms)\n`);
        lastError = msg;
      });
      emit(first);
      if (count === undefined || n < count) monitor.start(intervalMs);
      await finished;
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
    process.stdout.off('error', onOutputError);
    await monitor.stop();
  }
}
