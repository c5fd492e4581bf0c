// Runs (or resumes) a runbook with the chosen output: Ink on a TTY, plain or JSON lines otherwise.
// Signals: Ctrl+C aborts the current step (a second Ctrl+C exits at once); SIGHUP/SIGTERM and a
// closed stdout stop at a safe point. Every way out leaves the run resumable.
import { PolicyGates, type GatePort } from '../engine/gates.js';
import { currentIdentity } from '../engine/operator-identity.js';
import type { RunOutcome } from '../engine/runner.js';
import { newRunner } from './composition-root.js';
import type { ConnectionSpec } from '../pg/connection.js';
import type { PhaseName, Runbook } from '../runbook/model.js';
import { jsonRenderer } from '../render/json-renderer.js';
import { plainRenderer } from '../render/plain-renderer.js';
import { stdoutWriter, type OutputMode } from '../render/output.js';
import { PrometheusExporter } from '../report/prometheus.js';
import { InputError } from '../util/runbook-error.js';
import type { Server } from 'node:http';
import { attachIntegrations } from './integrations.js';

export interface ExecuteOptions {
  runbook: Runbook;
  connection: ConnectionSpec;
  mode: OutputMode;
  phases?: PhaseName[];
  resumeRunId?: string;
  inFlight?: Record<string, 'rerun' | 'skip'>;
  yes?: boolean;
  allowIrreversible?: boolean;
  journalDir?: string;
  /** Serve Prometheus metrics on this port while the run lasts. */
  metricsPort?: number;
  /** Webhooks (`--notify`), besides the runbook's settings.notify. */
  notify?: string[];
}

export async function executeRun(opts: ExecuteOptions): Promise<RunOutcome> {
  const who = currentIdentity();
  const interactive = opts.mode === 'ink';
  let mounted: { metrics(): Record<string, unknown> } | undefined;
  let gates: GatePort = new PolicyGates({ yes: !!opts.yes, allowIrreversible: !!opts.allowIrreversible, user: who.user });
  const gatePort: GatePort = { request: (req, signal) => gates.request(req, signal) };
  const runner = newRunner({
    runbook: opts.runbook,
    connection: opts.connection,
    gates: gatePort,
    nonInteractive: !interactive,
    phases: opts.phases,
    resumeRunId: opts.resumeRunId,
    inFlight: opts.inFlight,
    journalDir: opts.journalDir,
    identity: who,
    deployPlan: (ctx) => import('./deploy-plan.js').then((m) => m.analyzerDeployPlan(ctx)),
    // What the operator saw on the panels when deciding a gate goes into the journal.
    metrics: () => mounted?.metrics(),
  });

  // Integration problems go to stderr; under Ink they wait until the screen is released.
  const deferred: string[] = [];
  const report = (m: string) => (interactive && unmount ? deferred.push(m) : process.stderr.write(`pgrunbook: ${m}\n`));
  let unmount: (() => Promise<void>) | undefined;
  const integrations = await attachIntegrations(runner.bus, { runbook: opts.runbook, notify: opts.notify, report });

  if (interactive) {
    // Ink loads only for interactive runs.
    const { inkInteractiveMount } = await import('../ui/mount-run.js');
    const m = await inkInteractiveMount(runner, { connection: opts.connection, runbook: opts.runbook });
    mounted = m;
    gates = m.gates;
    unmount = m.done;
  } else {
    const write = stdoutWriter(() => runner.interrupt('stdout was closed'));
    runner.bus.on(opts.mode === 'json' ? jsonRenderer(write) : plainRenderer(write));
  }

  let metricsServer: Server | undefined;
  if (opts.metricsPort !== undefined) {
    const exporter = new PrometheusExporter();
    runner.bus.on(exporter.listener);
    metricsServer = await exporter.listen(opts.metricsPort).catch((err: Error) => {
      throw new InputError(`--metrics-port ${opts.metricsPort}: ${err.message}`, 'pick a free port');
    });
  }

  let sigints = 0;
  const onInt = () => {
    sigints++;
    if (sigints === 1) runner.abort('interrupted by Ctrl+C');
    else process.exit(130);
  };
  const onHup = () => runner.interrupt('terminal hung up (SIGHUP)');
  const onTerm = () => runner.interrupt('terminated (SIGTERM)');
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onTerm);
  try {
    return await runner.run();
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onTerm);
    await integrations.close();
    await unmount?.();
    unmount = undefined;
    for (const m of deferred) process.stderr.write(`pgrunbook: ${m}\n`);
    metricsServer?.close();
  }
}
