// `pgrunbook fleet run|resume|status`: one runbook over many databases in waves (src/fleet/,
// src/cli/fleet-execute.ts). Each target is a normal run with its journal in its own database, so
// `pgrunbook resume --db URL` works on any one of them; the fleet's own state is in --state-dir.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { FleetOutcome } from '../../fleet/fleet-runner.js';
import { type FleetRequest, FleetState } from '../../fleet/fleet-state.js';
import { DEFAULT_WAVES, parseLimit, parseWaves } from '../../fleet/fleet-waves.js';
import { InputError } from '../../util/runbook-error.js';
import { executeFleet, type PreparedFleet, prepareFleet } from '../fleet-execute.js';
import { reportFormat, writeFleetReport } from '../fleet-report.js';
import type { OutputMode } from '../../render/output.js';
import { outputMode, withOutput, withVars } from '../options.js';

const DEFAULT_STATE_DIR = '.pgrunbook/fleet';

interface FleetRunFlags {
  targets: string;
  waves?: string;
  maxFailures: string;
  perServer?: string;
  var?: Record<string, string>;
  secretVar?: Record<string, string>;
  yes?: boolean;
  allowIrreversible?: boolean;
  journalDir: string;
  stateDir: string;
  plain?: boolean;
  json?: boolean;
  report?: string;
}

export function register(program: Command): void {
  const fleet = program.command('fleet').description('run one runbook over many databases in waves, with halt rules and resume');
  const run = fleet
    .command('run')
    .description('run the runbook on every target of --targets, wave after wave; each target is a normal, resumable run')
    .argument('<file>', 'runbook YAML')
    .requiredOption('--targets <file>', 'YAML/JSON file: targets: [{name, url, labels, vars}]')
    .option('--waves <yaml>', 'waves, e.g. "[{count: 1}, {percent: 10, parallel: 2}, {percent: 100, parallel: 8, max_failures: 2}]"')
    .option('--max-failures <n|p%>', 'halt the fleet when this many (or this share) of all targets failed', '1')
    .option('--per-server <n>', 'at most N runs at once on one server (host:port), across the pool')
    .option('--yes', 'approve `confirm` gates on every target')
    .option('--allow-irreversible', 'with --yes, also approve `type` gates (irreversible steps)')
    .option('--journal-dir <dir>', 'where the local JSONL copies of the targets’ journals go', '.pgrunbook')
    .option('--report <file>', "at the end, write the fleet report (FILE.md or FILE.json) linking every target's report");
  withState(withOutput(withVars(run))).action(async (file: string, o: FleetRunFlags) => {
    const mode = outputMode(o);
    if (o.report) reportFormat(o.report);
    const request: FleetRequest = {
      runbook: resolve(file),
      targets: resolve(o.targets),
      waves: o.waves ? parseWaves(o.waves) : DEFAULT_WAVES,
      maxFailures: parseLimit(o.maxFailures, '--max-failures'),
      perServer: o.perServer === undefined ? undefined : positiveInt(o.perServer, '--per-server'),
      vars: o.var ?? {},
      secretVars: o.secretVar ?? {},
      yes: !!o.yes,
      allowIrreversible: !!o.allowIrreversible,
      journalDir: resolve(o.journalDir),
    };
    const fleet = await prepareFleet(request);
    await locked(FleetState.create(o.stateDir, request), mode, o.report, fleet);
  });
  const resume = fleet
    .command('resume')
    .description(
      'continue a fleet from its state: completed targets are not run again, interrupted and failed ones continue their own runs',
    );
  resume.option('--report <file>', "at the end, write the fleet report (FILE.md or FILE.json) linking every target's report");
  withState(withOutput(resume)).action(async (o: { stateDir: string; plain?: boolean; json?: boolean; report?: string }) => {
    if (o.report) reportFormat(o.report);
    const state = FleetState.open(o.stateDir);
    if (state.data.status === 'completed') throw new InputError(`the fleet in ${o.stateDir} already completed; nothing to resume`);
    await locked(state, outputMode(o), o.report);
  });
  const report = fleet
    .command('report')
    .description("write the fleet report: every target's state and its own run report, wave timings, gate decisions, halts")
    .requiredOption('--out <file>', 'FILE.md or FILE.json; the targets’ reports go in FILE.targets/ beside it');
  withState(report).action(async (o: { stateDir: string; out: string }) => {
    reportFormat(o.out);
    await writeFleetReport(FleetState.open(o.stateDir), o.out);
  });
  const status = fleet.command('status').description("every target's state in the fleet: wave, status, run id, why it failed");
  withState(withOutput(status)).action((o: { stateDir: string; json?: boolean; plain?: boolean }) => {
    process.stdout.write(statusText(FleetState.open(o.stateDir), outputMode(o) === 'json' ? 'json' : 'plain'));
  });
}

function withState(cmd: Command): Command {
  return cmd.option('--state-dir <dir>', 'where the fleet keeps its own state and lock', DEFAULT_STATE_DIR);
}

async function locked(state: FleetState, mode: OutputMode, report: string | undefined, ready?: PreparedFleet): Promise<void> {
  const unlock = state.lock();
  try {
    const fleet = ready ?? (await prepareFleet(state.data.request));
    process.exitCode = exitCodeOf(await executeFleet(state, fleet, mode));
    if (report) await writeFleetReport(state, report);
  } finally {
    unlock();
  }
}

function statusText(state: FleetState, mode: 'plain' | 'json'): string {
  const d = state.data;
  if (mode === 'json')
    return `${JSON.stringify({ status: d.status, haltReason: d.haltReason, startedAt: d.startedAt, targets: d.targets })}\n`;
  const lines = [`fleet ${d.status}${d.haltReason ? `: ${d.haltReason}` : ''} (started ${d.startedAt}, runbook ${d.request.runbook})`];
  for (const [name, e] of Object.entries(d.targets))
    lines.push(`[${name}] wave ${e.wave} ${e.status}${e.runId ? ` run ${e.runId}` : ''}${e.reason ? `: ${e.reason}` : ''}`);
  lines.push(`${Object.keys(d.targets).length} targets started; the others of the targets file have not started`);
  return `${lines.join('\n')}\n`;
}

/** 0 all completed; 3 when every target that did not complete was held by another run's lock; else 1. */
function exitCodeOf(outcome: FleetOutcome): number {
  if (outcome.status === 'completed') return 0;
  const bad = [...outcome.results.values()].filter((r) => r.status !== 'completed');
  return bad.length > 0 && bad.every((r) => r.status === 'locked') ? 3 : 1;
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${what} "${v}": expected a whole number of at least 1`);
  return n;
}
