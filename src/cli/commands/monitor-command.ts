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
import { describeTarget, explainConnectionError, type ConnectionSpec } from '../../pg/connection.js';
import type { MonitorSample } from '../../monitor/monitor-types.js';
import { redact, redactDeep } from '../../util/secrets.js';
import { MonitorApp } from '../../ui/monitor-app.js';
import { applyColorPolicy } from '../../ui/color.js';
import { collectList, hostEndpoints, outputMode, withDb, withHost, withOutput, type HostOptions } from '../options.js';
import { openHostSignals } from '../../host/open-host-signals.js';
import { systemClock } from '../../util/clock.js';
import { connectionOrExit } from './run-command.js';

export interface MonitorCommandOptions extends HostOptions {
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

export function register(program: Command): void {
  withHost(
    withOutput(
      withDb(
        program
          .command('monitor')
          .description('live lock, long-query, replication and index-build panels for any database (read-only, short timeouts)')
          .option('--interval <duration>', 'time between polls', '1s')
          .option('--long-query <duration>', 'a statement or transaction older than this is a long query', '5s')
          .option('--relation <name>', 'also track the total size of this relation (repeatable)', collectList, [])
          .option('--all-databases', 'sessions and index builds of every database on the server, not just this one')
          .option('--count <n>', 'stop after n samples (plain and JSON output)'),
      ),
    ),
  ).action((o: MonitorCommandOptions) => runMonitor(o));
}

export async function runMonitor(o: MonitorCommandOptions): Promise<void> {
  const mode = outputMode(o);
  const intervalMs = durationOption('--interval', o.interval, 100);
  const longQuerySeconds = durationOption('--long-query', o.longQuery, 0) / 1000;
  const count = countOption(o.count);
  const endpoints = hostEndpoints(o);
  const spec = connectionOrExit(o.db);
  const host = endpoints ? openHostSignals(endpoints, systemClock) : undefined;
  const monitor = Monitor.connect(spec, {
    intervalMs,
    longQuerySeconds,
    relations: o.relation,
    allDatabases: o.allDatabases ?? false,
    ...(host ? { host } : {}),
  });
  const first = await firstPoll(monitor, spec);
  const stop = stopOnSignalOrClosedOutput();
  try {
    if (mode === 'ink') await showPanels(monitor, spec, intervalMs, stop);
    else await printSamples(monitor, spec, { json: mode === 'json', intervalMs, count, first }, stop);
  } finally {
    stop.release();
    await monitor.stop();
  }
}

function countOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new InputError(`--count ${value}: expected a whole number of samples, 1 or more`);
  return count;
}

/** The first poll up front: a wrong URL or a server that is down fails here, clearly. */
async function firstPoll(monitor: Monitor, spec: ConnectionSpec): Promise<MonitorSample> {
  try {
    return await monitor.poll();
  } catch (err) {
    await monitor.stop().catch(() => {});
    throw new RunbookError(explainConnectionError(err, spec), {
      hint: 'check --db (or DATABASE_URL / PGHOST...) and that the server accepts connections',
    });
  }
}

interface Stop {
  finish: (why: string) => void;
  finished: Promise<string>;
  release: () => void;
}

/** Ends the monitor on SIGINT, SIGTERM, SIGHUP or an error writing stdout. */
function stopOnSignalOrClosedOutput(): Stop {
  let finish!: (why: string) => void;
  const finished = new Promise<string>((resolve) => (finish = resolve));
  const onSignal = (sig: NodeJS.Signals) => finish(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const onOutputError = (err: NodeJS.ErrnoException) => finish(`output closed (${err.code ?? err.message})`);
  process.stdout.on('error', onOutputError);
  return {
    finish,
    finished,
    release: () => {
      for (const s of signals) process.off(s, onSignal);
      process.stdout.off('error', onOutputError);
    },
  };
}

/** The Ink panels until q, Ctrl+C or a stop. */
async function showPanels(monitor: Monitor, spec: ConnectionSpec, intervalMs: number, stop: Stop): Promise<void> {
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
    () => stop.finish('quit'),
    () => stop.finish('quit'),
  );
  await stop.finished;
  try {
    instance.unmount();
  } catch {
    /* the terminal is gone (SIGHUP, EIO): nothing left to draw on */
  }
}

/** One line (or JSON object) per sample on stdout, poll errors once each on stderr, until --count or a stop. */
async function printSamples(
  monitor: Monitor,
  spec: ConnectionSpec,
  o: { json: boolean; intervalMs: number; count: number | undefined; first: MonitorSample },
  stop: Stop,
): Promise<void> {
  const { count } = o;
  let n = 0;
  let lastError = '';
  const write = (line: string) => {
    if (!process.stdout.writable) return stop.finish('output closed');
    process.stdout.write(line + '\n');
  };
  const emit = (s: MonitorSample) => {
    if (count !== undefined && n >= count) return;
    lastError = '';
    write(o.json ? JSON.stringify(redactDeep(s)) : redact(formatSampleLine(s)));
    if (count !== undefined && ++n >= count) stop.finish('count');
  };
  monitor.subscribe(emit);
  monitor.onError((err) => {
    const msg = explainConnectionError(err, spec);
    if (msg !== lastError) process.stderr.write(`pgrunbook monitor: ${msg} (retrying every ${o.intervalMs} ms)\n`);
    lastError = msg;
  });
  emit(o.first);
  if (count === undefined || n < count) monitor.start(o.intervalMs);
  await stop.finished;
}
