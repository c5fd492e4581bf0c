// Runs a fleet for `fleet run` and `fleet resume`: checks every target's runbook and connection
// before any starts, runs each as a normal Runner from the composition root through the fleet's
// wiring (src/wiring/fleet-wiring.ts: the view or the lines), and keeps the fleet's state file current. A resumed target continues its own run (its journal is in its database), so
// a target is never run twice.
import { currentIdentity } from '../engine/operator-identity.js';
import type { RunEvent } from '../engine/events.js';
import { getRun } from '../engine/state-store.js';
import { type FleetEvent, type FleetOutcome, FleetRunner, type TargetResult } from '../fleet/fleet-runner.js';
import type { FleetRequest, FleetStore } from '../fleet/fleet-state.js';
import type { FleetTarget } from '../fleet/fleet-targets.js';
import { policyWaveGate, terminalAsk } from '../fleet/fleet-gate.js';
import { runStatsListener } from '../fleet/fleet-health.js';
import { probeTarget } from '../fleet/fleet-health-probe.js';
import { planWaves, resolveWaves, type Wave, type WaveFlags } from '../fleet/fleet-waves.js';
import { systemClock } from '../util/clock.js';
import { type ConnectionSpec, ConnectionConfigError, resolveConnection } from '../pg/connection.js';
import type { OutputMode } from '../render/output.js';
import type { PhaseName, Runbook } from '../runbook/model.js';
import { InputError, RunLockHeldError } from '../util/runbook-error.js';
import { redactedMessage } from '../util/secrets.js';
import { newRunner } from './composition-root.js';
import { loadRunbookOrExit, loadRunbookSourceOrExit, loadStoredRunbook } from './runbook-input.js';
import type { StoredVars } from '../runbook/secret-vars.js';
import { withStateClient } from './state-client.js';
import { FleetWiring } from '../wiring/fleet-wiring.js';
import { openHostSignals, type HostEndpoints } from '../host/open-host-signals.js';
import type { HostSignals } from '../engine/ports.js';

interface Prepared {
  target: FleetTarget;
  runbook: Runbook;
  connection: ConnectionSpec;
}

interface Ctx {
  state: FleetStore;
  wiring: FleetWiring;
  inFlight: InFlightAnswers;
  /** --node-exporter / --prometheus: one database host's figures, given to every target's run. */
  host?: HostSignals;
}

/** `fleet resume --rerun/--skip TARGET:STEP`: per target, what to do with a step its run left in flight. */
export type InFlightAnswers = Map<string, Record<string, 'rerun' | 'skip'>>;

export interface PreparedFleet {
  waves: Wave<FleetTarget>[];
  prepared: Map<string, Prepared>;
}

/**
 * Every target's runbook and connection, checked before any target starts (bad input: exit 2). A
 * fleet resumed from the catalog database runs the runbook text stored there (`runbookSource`). A
 * new fleet passes its wave flags: the waves and limits are then resolved over the runbook's
 * `fleet:` section and written into `req`, so a resume keeps them.
 */
export async function prepareFleet(
  req: FleetRequest,
  targets: FleetTarget[],
  runbookSource?: string,
  flags?: WaveFlags,
): Promise<PreparedFleet> {
  const prepared = new Map<string, Prepared>();
  for (const [i, target] of targets.entries()) {
    const connection = targetConnection(target);
    const vars = { ...req.vars, ...target.vars };
    const runbook =
      runbookSource === undefined
        ? await loadRunbookOrExit(req.runbook, vars, req.secretVars, i > 0)
        : await loadRunbookSourceOrExit(runbookSource, req.runbook, vars, req.secretVars, i > 0);
    prepared.set(target.name, { target, runbook, connection });
  }
  if (flags && targets[0]) Object.assign(req, resolveWaves(prepared.get(targets[0].name)!.runbook.fleet, flags));
  return { waves: planWaves(targets, req.waves), prepared };
}

export async function executeFleet(
  state: FleetStore,
  { waves, prepared }: PreparedFleet,
  mode: OutputMode,
  inFlight: InFlightAnswers = new Map(),
  hostEndpoints?: HostEndpoints,
): Promise<FleetOutcome> {
  const req = state.data.request;
  const done = new Map<string, TargetResult>();
  for (const [name, e] of Object.entries(state.data.targets))
    if (e.status === 'completed') done.set(name, { status: 'completed', runId: e.runId });
  const wiring = new FleetWiring({
    mode,
    policy: { yes: req.yes, allowIrreversible: req.allowIrreversible },
    halt: (reason) => fleet.halt(reason),
  });
  const host = hostEndpoints ? openHostSignals(hostEndpoints, systemClock) : undefined;
  const ctx: Ctx = { state, wiring, inFlight, ...(host ? { host } : {}) };
  const journal = journaled(state, wiring.emit, (why) => fleet.halt(why));
  const fleet = new FleetRunner({
    waves,
    maxFailures: req.maxFailures,
    perServer: req.perServer,
    serverOf: (t) => `${prepared.get(t.name)!.connection.target.host}:${prepared.get(t.name)!.connection.target.port}`,
    done,
    emit: journal.emit,
    runTarget: (t) => runTarget(prepared.get(t.name)!, waveOf(waves, t), ctx),
    between: {
      clock: systemClock,
      probe: (t) => probeTarget(prepared.get(t.name)!.connection, prepared.get(t.name)!.runbook.fleet?.health?.check),
      // Without --yes: the fleet view shows the gate; plain output on a terminal asks; JSON output (for programs) refuses.
      gate:
        wiring.interactive && !req.yes
          ? wiring.waveGate
          : policyWaveGate({
              yes: req.yes,
              ask: mode === 'plain' && process.stdin.isTTY && process.stdout.isTTY ? terminalAsk(process.stdin, process.stdout) : undefined,
            }),
    },
  });
  const stop = (why: string) => wiring.stop(why, 'interrupt');
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', () => stop('interrupted by Ctrl+C')],
    ['SIGHUP', () => stop('terminal hung up (SIGHUP)')],
    ['SIGTERM', () => stop('terminated (SIGTERM)')],
  ];
  for (const [sig, fn] of handlers) process.on(sig, fn);
  try {
    await wiring.show();
    const out = await fleet.run();
    await journal.flushed();
    await state.finish(out.status, out.haltReason);
    return out;
  } finally {
    for (const [sig, fn] of handlers) process.off(sig, fn);
    await wiring.close();
  }
}

/** Fleet events to the screen, and in order to the fleet's journal; a journal that fails halts the fleet. */
function journaled(store: FleetStore, show: (e: FleetEvent) => void, halt: (why: string) => void) {
  let chain = Promise.resolve();
  return {
    emit: (e: FleetEvent) => {
      show(e);
      chain = chain.then(() => store.record(e)).catch((err) => halt(`the fleet's journal could not be written: ${redactedMessage(err)}`));
    },
    flushed: () => chain,
  };
}

function waveOf(waves: { index: number; targets: FleetTarget[] }[], t: FleetTarget): number {
  return waves.find((w) => w.targets.includes(t))!.index;
}

/** A new run, or the continuation of the run this target had when the fleet stopped. */
async function runTarget(p: Prepared, wave: number, ctx: Ctx): Promise<TargetResult> {
  const req = ctx.state.data.request;
  const previous = ctx.state.data.targets[p.target.name]?.runId;
  const resume = previous ? await resumable(p.connection, previous) : undefined;
  if (resume === 'completed') {
    await ctx.state.setTarget(p.target.name, { status: 'completed', wave, runId: previous });
    return { status: 'completed', runId: previous };
  }
  const name = p.target.name;
  const who = currentIdentity();
  const wiring = ctx.wiring.target(name);
  const runbook = resume ? resume.runbook : p.runbook;
  const { stats, listener } = runStatsListener();
  // A step left in flight by an earlier life: its effect is unknown, and only the operator can say (never --yes).
  let unknownStep: string | undefined;
  const inFlightListener = (e: RunEvent) => {
    if (e.type === 'gate.decided' && !e.decision.approved && e.request.id === `${e.request.stepId}:in-flight`)
      unknownStep = e.request.stepId;
  };
  const runner = newRunner({
    runbook,
    connection: p.connection,
    phases: resume?.phases ?? (req.phase === 'rollback' ? ['rollback'] : undefined),
    resumeRunId: resume ? previous : undefined,
    inFlight: resume ? ctx.inFlight.get(name) : undefined,
    gates: wiring.gates,
    nonInteractive: !wiring.asks,
    journalDir: req.journalDir,
    identity: who,
    deployPlan: (c) => import('./deploy-plan.js').then((m) => m.analyzerDeployPlan(c)),
    metrics: () => wiring.metrics(),
    listeners: [listener, inFlightListener],
    ...(ctx.host ? { host: ctx.host } : {}),
  });
  // On record before the run starts: a fleet killed from here on resumes this run, never a new one.
  await ctx.state.setTarget(name, { status: 'running', wave, runId: runner.runId });
  let result: TargetResult;
  try {
    await ctx.wiring.attach(name, wiring, runner, { connection: p.connection, runbook, ...(ctx.host ? { host: ctx.host } : {}) });
    const out = await runner.run();
    const reason = unknownStep
      ? `step ${unknownStep} was in flight when its run stopped and its effect is unknown: check ${name}'s database, then ` +
        `\`pgrunbook fleet resume ${ctx.state.resumeArgs} --rerun ${name}:${unknownStep}\` (run it again) or ` +
        `\`--skip ${name}:${unknownStep}\` (its effect is there)`
      : (out.unrecorded ?? (out.error ? redactedMessage(out.error) : undefined));
    result = { status: out.unrecorded && out.status === 'completed' ? 'failed' : out.status, runId: out.runId, reason, stats };
  } catch (err) {
    result = { status: err instanceof RunLockHeldError ? 'locked' : 'failed', runId: runner.runId, reason: redactedMessage(err) };
  } finally {
    await ctx.wiring.release(name);
  }
  if (result.status !== 'completed' && result.status !== 'locked') result = await outageSaid(p, result, ctx.state.resumeArgs);
  await ctx.state.setTarget(name, { wave, ...result });
  return result;
}

/** A target whose server cannot be reached now: its failure says which server, and that the fleet resumes it. */
async function outageSaid(p: Prepared, result: TargetResult, resumeArgs: string): Promise<TargetResult> {
  const up = await withStateClient(p.connection, 'fleet', async () => true).catch(() => false);
  if (up) return result;
  const where = `${p.connection.target.host}:${p.connection.target.port}`;
  const first = (result.reason ?? result.status).split(/\. /)[0];
  const reason =
    `the server ${where} cannot be reached (${first}); once it is back, \`pgrunbook fleet resume ${resumeArgs}\` ` +
    `continues run ${result.runId ?? 'of this target'} where it stopped (steps done are not run again)`;
  // Not a failure of the change: the run stopped because its server went away, and resumes where it stopped.
  return { ...result, status: result.status === 'aborted' ? 'aborted' : 'interrupted', reason };
}

/** How the target's recorded run stands in its own database: completed, to continue, or never recorded. */
async function resumable(
  connection: ConnectionSpec,
  runId: string,
): Promise<'completed' | { runbook: Runbook; phases: PhaseName[] } | undefined> {
  const row = await withStateClient(connection, 'fleet', async (c, has) => (has ? getRun(c, runId) : undefined));
  if (!row) return undefined;
  if (row.status === 'completed') return 'completed';
  // Quiet: the runbook's warnings were shown once when the fleet was prepared.
  return { runbook: await loadStoredRunbook(row.runbook_source, row.runbook_file, row.vars as StoredVars, true), phases: row.phases };
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
