// `pgrunbook fleet run RUNBOOK --targets FILE`: one runbook over many databases in waves
// (src/fleet/). Each target is a normal run through the composition root's runner, its journal in
// its own database, so `pgrunbook resume --db URL` works on any one of them.
import type { Command } from 'commander';
import { PolicyGates } from '../../engine/gates.js';
import { currentIdentity } from '../../engine/operator-identity.js';
import type { Runner } from '../../engine/runner.js';
import { FleetRunner, type FleetOutcome, type TargetResult } from '../../fleet/fleet-runner.js';
import { fleetRenderer, targetRenderer, type FleetOutputMode } from '../../fleet/fleet-output.js';
import { loadTargetsFile, type FleetTarget } from '../../fleet/fleet-targets.js';
import { DEFAULT_WAVES, parseLimit, parseWaves, planWaves } from '../../fleet/fleet-waves.js';
import { ConnectionConfigError, resolveConnection, type ConnectionSpec } from '../../pg/connection.js';
import type { Runbook } from '../../runbook/model.js';
import { stdoutWriter } from '../../render/output.js';
import { RunLockHeldError, InputError } from '../../util/runbook-error.js';
import { redactedMessage } from '../../util/secrets.js';
import { newRunner } from '../composition-root.js';
import { outputMode, withOutput, withVars } from '../options.js';
import { loadRunbookOrExit } from '../runbook-input.js';

interface Prepared {
  target: FleetTarget;
  runbook: Runbook;
  connection: ConnectionSpec;
}

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
  plain?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const fleet = program.command('fleet').description('run one runbook over many databases in waves, with halt rules');
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
    .option('--journal-dir <dir>', 'where the local JSONL copies of the targets’ journals go', '.pgrunbook');
  withOutput(withVars(run)).action(async (file: string, o: FleetRunFlags) => {
    const outcome = await fleetRun(file, o);
    process.exitCode = exitCodeOf(outcome);
  });
}

async function fleetRun(file: string, o: FleetRunFlags): Promise<FleetOutcome> {
  // The fleet has no terminal view yet: a terminal gets plain lines.
  const mode: FleetOutputMode = outputMode(o) === 'json' ? 'json' : 'plain';
  const maxFailures = parseLimit(o.maxFailures, '--max-failures');
  const perServer = o.perServer === undefined ? undefined : positiveInt(o.perServer, '--per-server');
  const targets = await loadTargetsFile(o.targets);
  const waves = planWaves(targets, o.waves ? parseWaves(o.waves) : DEFAULT_WAVES);
  // Every target's runbook and connection are checked before any target starts.
  const prepared = new Map<string, Prepared>();
  for (const [i, target] of targets.entries()) {
    const connection = targetConnection(target);
    const runbook = await loadRunbookOrExit(file, { ...o.var, ...target.vars }, o.secretVar, i > 0);
    prepared.set(target.name, { target, runbook, connection });
  }
  const write = stdoutWriter(() => fleetRunner.halt('stdout closed'));
  const active = new Set<Runner>();
  const fleetRunner = new FleetRunner({
    waves,
    maxFailures,
    perServer,
    serverOf: (t) => {
      const c = prepared.get(t.name)!.connection.target;
      return `${c.host}:${c.port}`;
    },
    emit: fleetRenderer(mode, write),
    runTarget: (t) => runTarget(prepared.get(t.name)!, { mode, write, flags: o, active }),
  });
  const stop = (why: string) => {
    fleetRunner.halt(why);
    for (const r of active) r.interrupt(why);
  };
  const onInt = () => stop('interrupted by Ctrl+C');
  const onHup = () => stop('terminal hung up (SIGHUP)');
  const onTerm = () => stop('terminated (SIGTERM)');
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onTerm);
  try {
    return await fleetRunner.run();
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onTerm);
  }
}

interface TargetContext {
  mode: FleetOutputMode;
  write: (s: string) => void;
  flags: FleetRunFlags;
  active: Set<Runner>;
}

async function runTarget(p: Prepared, ctx: TargetContext): Promise<TargetResult> {
  const { flags } = ctx;
  const who = currentIdentity();
  const runner = newRunner({
    runbook: p.runbook,
    connection: p.connection,
    gates: new PolicyGates({ yes: !!flags.yes, allowIrreversible: !!flags.allowIrreversible, user: who.user }),
    nonInteractive: true,
    journalDir: flags.journalDir,
    identity: who,
    deployPlan: (c) => import('../deploy-plan.js').then((m) => m.analyzerDeployPlan(c)),
    listeners: [targetRenderer(ctx.mode, p.target.name, ctx.write)],
  });
  ctx.active.add(runner);
  try {
    const out = await runner.run();
    const reason = out.unrecorded ?? (out.error ? redactedMessage(out.error) : undefined);
    return { status: out.unrecorded && out.status === 'completed' ? 'failed' : out.status, runId: out.runId, reason };
  } catch (err) {
    return { status: err instanceof RunLockHeldError ? 'locked' : 'failed', runId: runner.runId, reason: redactedMessage(err) };
  } finally {
    ctx.active.delete(runner);
  }
}

/** 0 all completed; 3 when every target that did not complete was held by another run's lock; else 1. */
function exitCodeOf(outcome: FleetOutcome): number {
  if (outcome.status === 'completed') return 0;
  const bad = [...outcome.results.values()].filter((r) => r.status !== 'completed');
  return bad.length > 0 && bad.every((r) => r.status === 'locked') ? 3 : 1;
}

function targetConnection(t: FleetTarget): ConnectionSpec {
  try {
    return resolveConnection(t.url);
  } catch (err) {
    if (err instanceof ConnectionConfigError)
      throw new InputError(`target ${t.name}: ${err.message.replace(/^--db: /, '')}`, 'fix its url in the targets file');
    throw err;
  }
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${what} "${v}": expected a whole number of at least 1`);
  return n;
}
