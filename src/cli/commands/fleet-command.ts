// `pgrunbook fleet run|resume|status`: one runbook over many databases in waves (src/fleet/,
// src/cli/fleet-execute.ts). Each target is a normal run with its journal in its own database, so
// `pgrunbook resume --db URL` works on any one of them; the fleet's own journal is in the catalog
// database (--catalog-db) or else in --state-dir (src/cli/fleet-stores.ts).
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { FleetOutcome } from '../../fleet/fleet-runner.js';
import type { FleetRequest, FleetStore } from '../../fleet/fleet-state.js';
import { parseLimit, parseWaves, type WaveFlags } from '../../fleet/fleet-waves.js';
import { rollbackLines } from '../../fleet/fleet-rollback.js';
import { parseDuration } from '../../runbook/durations.js';
import { InputError } from '../../util/runbook-error.js';
import { executeFleet, type InFlightAnswers, type PreparedFleet } from '../fleet-execute.js';
import { reportFormat, writeFleetReport } from '../fleet-report.js';
import { existingFleet, newFleet, resumedFleet, type StoreFlags, statusText } from '../fleet-stores.js';
import type { OutputMode } from '../../render/output.js';
import { collectList, hostEndpoints, outputMode, withHost, withOutput, withVars, type HostOptions } from '../options.js';

const DEFAULT_STATE_DIR = '.pgrunbook/fleet';

interface FleetRunFlags extends HostOptions {
  targets?: string;
  targetsQuery?: string;
  waves?: string;
  maxFailures?: string;
  perServer?: string;
  soak?: string;
  gate?: string;
  var?: Record<string, string>;
  secretVar?: Record<string, string>;
  yes?: boolean;
  allowIrreversible?: boolean;
  journalDir: string;
  stateDir: string;
  catalogDb?: string;
  fleet?: string;
  plain?: boolean;
  json?: boolean;
  report?: string;
  phase?: string;
}

export function register(program: Command): void {
  const fleet = program.command('fleet').description('run one runbook over many databases in waves, with halt rules and resume');
  const run = fleet
    .command('run')
    .description('run the runbook on every target of --targets, wave after wave; each target is a normal, resumable run')
    .argument('<file>', 'runbook YAML')
    .option('--targets <file>', 'YAML/JSON file: targets: [{name, url, labels, vars}]')
    .option('--targets-query <sql>', 'query on --catalog-db returning name, url and optionally labels jsonb, vars jsonb')
    .option('--waves <yaml>', 'waves, e.g. "[{count: 1}, {percent: 10, parallel: 2}, {percent: 100, parallel: 8, max_failures: 2}]"')
    .option(
      '--max-failures <n|p%>',
      'halt the fleet when this many (or this share) of all targets failed (default: the runbook’s fleet.max_failures, else 1)',
    )
    .option('--per-server <n>', 'at most N runs at once on one server (host:port), across the pool')
    .option('--soak <duration>', 'wait this long after each wave before its health check (overrides fleet.soak)')
    .option('--gate <confirm|none>', 'between waves: confirm (default; --yes approves) or none (overrides fleet.gate)')
    .option(
      '--phase <rollback>',
      'rollback: run the rollback phase on the targets whose deploy completed in the fleet named by --state-dir or --catalog-db/--fleet, newest wave first',
    )
    .option('--yes', 'approve `confirm` gates on every target')
    .option('--allow-irreversible', 'with --yes, also approve `type` gates (irreversible steps)')
    .option('--journal-dir <dir>', 'where the local JSONL copies of the targets’ journals go', '.pgrunbook')
    .option('--report <file>', "at the end, write the fleet report (FILE.md or FILE.json) linking every target's report");
  withHost(withState(withOutput(withVars(run)))).action(async (file: string, o: FleetRunFlags) => {
    const mode = outputMode(o);
    const host = hostEndpoints(o);
    if (o.report) reportFormat(o.report);
    const flags: WaveFlags = {
      waves: o.waves ? parseWaves(o.waves) : undefined,
      maxFailures: o.maxFailures === undefined ? undefined : parseLimit(o.maxFailures, '--max-failures'),
      perServer: o.perServer === undefined ? undefined : positiveInt(o.perServer, '--per-server'),
      soakMs: o.soak === undefined ? undefined : duration(o.soak, '--soak'),
      gate: o.gate === undefined ? undefined : gateFlag(o.gate),
    };
    const request: FleetRequest = {
      runbook: resolve(file),
      ...(o.targets ? { targets: resolve(o.targets) } : {}),
      ...(o.targetsQuery ? { targetsQuery: o.targetsQuery } : {}),
      waves: [], // resolved by prepareFleet over the runbook's fleet: section and the flags
      maxFailures: { count: 1 },
      vars: o.var ?? {},
      secretVars: o.secretVar ?? {},
      yes: !!o.yes,
      allowIrreversible: !!o.allowIrreversible,
      journalDir: resolve(o.journalDir),
      ...(o.phase === undefined ? {} : { phase: phaseFlag(o.phase) }),
    };
    const { store, prepared } = await newFleet(storeFlags(o, run), request, flags);
    sayRollback(store, mode);
    await locked(store, mode, o.report, prepared, undefined, host);
  });
  registerResume(fleet);
  const report = fleet
    .command('report')
    .description("write the fleet report: every target's state and its own run report, wave timings, gate decisions, halts")
    .requiredOption('--out <file>', 'FILE.md or FILE.json; the targets’ reports go in FILE.targets/ beside it');
  withState(report).action(async (o: StoreOptions & { out: string }) => {
    reportFormat(o.out);
    const store = await existingFleet(storeFlags(o, report), false);
    try {
      await writeFleetReport(store, o.out);
    } finally {
      await store.close();
    }
  });
  const status = fleet.command('status').description("every target's state in the fleet: wave, status, run id, why it failed");
  withState(withOutput(status)).action(async (o: StoreOptions) => {
    const store = await existingFleet(storeFlags(o, status), false);
    try {
      process.stdout.write(await statusText(store, outputMode(o) === 'json' ? 'json' : 'plain'));
    } finally {
      await store.close();
    }
  });
}

/** `fleet resume`: the fleet from its journal, with answers for steps left in flight. */
function registerResume(fleet: Command): void {
  const resume = fleet
    .command('resume')
    .description(
      'continue a fleet from its state: completed targets are not run again, interrupted and failed ones continue their own runs',
    );
  resume.option('--report <file>', "at the end, write the fleet report (FILE.md or FILE.json) linking every target's report");
  resume.option('--yes', 'approve the gate between waves (and `confirm` gates on every target) from now on');
  resume.option('--rerun <target:step>', "a step the target's run left in flight: run it again (repeatable)", collectList);
  resume.option(
    '--skip <target:step>',
    "a step the target's run left in flight: its effect is there, treat it as done (repeatable)",
    collectList,
  );
  type ResumeFlags = StoreOptions & HostOptions & { report?: string; yes?: boolean; rerun?: string[]; skip?: string[] };
  withHost(withState(withOutput(resume))).action(async (o: ResumeFlags) => {
    const host = hostEndpoints(o);
    if (o.report) reportFormat(o.report);
    const store = await existingFleet(storeFlags(o, resume), true);
    let inFlight: InFlightAnswers;
    try {
      if (store.data.status === 'completed') throw new InputError(`the fleet (${store.resumeArgs}) already completed; nothing to resume`);
      inFlight = inFlightAnswers(store, o.rerun ?? [], o.skip ?? []);
    } catch (err) {
      await store.close();
      throw err;
    }
    if (o.yes) store.data.request.yes = true;
    await locked(store, outputMode(o), o.report, undefined, inFlight, host);
  });
}

interface StoreOptions {
  stateDir: string;
  catalogDb?: string;
  fleet?: string;
  plain?: boolean;
  json?: boolean;
}

function withState(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'where the fleet keeps its own state and lock when there is no --catalog-db', DEFAULT_STATE_DIR)
    .option('--catalog-db <url>', "keep the fleet's journal and lock in this database (resume from any machine)")
    .option(
      '--fleet <id>',
      'the fleet in --catalog-db (run: its name; resume: default the only unfinished one; status: default the newest)',
    );
}

function storeFlags(o: StoreOptions, cmd: Command): StoreFlags {
  return { stateDir: o.stateDir, stateDirGiven: cmd.getOptionValueSource('stateDir') === 'cli', catalogDb: o.catalogDb, fleet: o.fleet };
}

async function locked(
  store: FleetStore,
  mode: OutputMode,
  report: string | undefined,
  ready?: PreparedFleet,
  inFlight?: InFlightAnswers,
  host?: HostOptions,
): Promise<void> {
  try {
    const unlock = await store.lock();
    try {
      const fleet = ready ?? (await resumedFleet(store));
      process.exitCode = exitCodeOf(await executeFleet(store, fleet, mode, inFlight, host));
      if (report) await writeFleetReport(store, report);
    } finally {
      await unlock();
    }
  } finally {
    await store.close();
  }
}

/** 0 all completed; 3 when every target that did not complete was held by another run's lock; else 1. */
function exitCodeOf(outcome: FleetOutcome): number {
  if (outcome.status === 'completed') return 0;
  const bad = [...outcome.results.values()].filter((r) => r.status !== 'completed');
  return bad.length > 0 && bad.every((r) => r.status === 'locked') ? 3 : 1;
}

/** `--rerun a:fill --skip b:mark` by target; a target the fleet does not have is an input error. */
function inFlightAnswers(store: FleetStore, rerun: string[], skip: string[]): InFlightAnswers {
  const out: InFlightAnswers = new Map();
  const known = new Set([...(store.data.order ?? []), ...Object.keys(store.data.targets)]);
  const add = (flag: string, v: string, choice: 'rerun' | 'skip') => {
    const at = v.lastIndexOf(':');
    const target = v.slice(0, at);
    const step = v.slice(at + 1);
    if (at <= 0 || !step)
      throw new InputError(
        `--${flag} "${v}": expected TARGET:STEP`,
        `for example --${flag} tenant_07:mark (\`fleet status\` names the step)`,
      );
    if (!known.has(target))
      throw new InputError(`--${flag} "${v}": the fleet has no target ${target}`, 'check the name with `pgrunbook fleet status`');
    const given = out.get(target)?.[step];
    if (given && given !== choice)
      throw new InputError(`${v}: given to both --rerun and --skip`, 'pick one: --rerun runs the step again, --skip treats it as done');
    out.set(target, { ...out.get(target), [step]: choice });
  };
  for (const v of rerun) add('rerun', v, 'rerun');
  for (const v of skip) add('skip', v, 'skip');
  return out;
}

function duration(v: string, what: string): number {
  const ms = parseDuration(v);
  if (ms === undefined) throw new InputError(`${what} "${v}": not a duration`, 'write a number with a unit: 30s, 5m or 1h');
  return ms;
}

function gateFlag(v: string): 'confirm' | 'none' {
  if (v === 'confirm' || v === 'none') return v;
  throw new InputError(
    `--gate "${v}": expected confirm or none`,
    'confirm asks (or --yes approves) before each wave; none goes on when healthy',
  );
}

/** A rollback fleet says first what it undoes and which targets it leaves alone. */
function sayRollback(store: FleetStore, mode: OutputMode): void {
  const lines = rollbackLines(store.data);
  if (lines.length === 0) return;
  if (mode === 'json') process.stdout.write(`${JSON.stringify({ type: 'fleet.rollback.planned', ...store.data.request.rollback })}\n`);
  else process.stdout.write(`${lines.join('\n')}\n`);
}

function phaseFlag(v: string): 'rollback' {
  if (v === 'rollback') return v;
  throw new InputError(
    `--phase "${v}": a fleet runs its deploy by default; the one phase to name is rollback`,
    'pass --phase rollback with the --state-dir or --catalog-db (and --fleet) of the deploy fleet to undo',
  );
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${what} "${v}": expected a whole number of at least 1`);
  return n;
}
