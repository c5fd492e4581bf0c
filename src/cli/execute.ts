// Runs (or resumes) a runbook with the chosen output (Ink on a TTY, plain or JSON lines otherwise)
// through the one run wiring (src/wiring/run-wiring.ts).
// Signals: Ctrl+C aborts the current step (a second Ctrl+C exits at once); SIGHUP/SIGTERM and a
// closed stdout stop at a safe point. Every way out leaves the run resumable.
import { currentIdentity } from '../engine/operator-identity.js';
import type { RunOutcome } from '../engine/runner.js';
import { newRunner } from './composition-root.js';
import type { ConnectionSpec } from '../pg/connection.js';
import type { PhaseName, Runbook } from '../runbook/model.js';
import type { OutputMode } from '../render/output.js';
import { PrometheusExporter } from '../report/prometheus.js';
import { InputError } from '../util/runbook-error.js';
import type { Server } from 'node:http';
import { RunWiring, type WiringSeams } from '../wiring/run-wiring.js';
import { attachIntegrations } from './integrations.js';
import { openHostSignals, type HostEndpoints } from '../host/open-host-signals.js';
import { systemClock } from '../util/clock.js';

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
  /** The database host's node_exporter or Prometheus (`--node-exporter`, `--prometheus`). */
  host?: HostEndpoints;
}

/** The run wiring of `run` and `resume`: the panels only on a terminal, q leaves the run resumable. */
export function runWiring(opts: Pick<ExecuteOptions, 'mode' | 'yes' | 'allowIrreversible'>, seams: WiringSeams = {}): RunWiring {
  return new RunWiring({ mode: opts.mode, policy: { yes: !!opts.yes, allowIrreversible: !!opts.allowIrreversible }, ...seams });
}

export async function executeRun(opts: ExecuteOptions): Promise<RunOutcome> {
  const who = currentIdentity();
  const wiring = runWiring(opts);
  const host = opts.host ? openHostSignals(opts.host, systemClock) : undefined;
  const runner = newRunner({
    runbook: opts.runbook,
    connection: opts.connection,
    gates: wiring.gates,
    nonInteractive: !wiring.interactive,
    phases: opts.phases,
    resumeRunId: opts.resumeRunId,
    inFlight: opts.inFlight,
    journalDir: opts.journalDir,
    identity: who,
    deployPlan: (ctx) => import('./deploy-plan.js').then((m) => m.analyzerDeployPlan(ctx)),
    // What the operator saw on the panels when deciding a gate goes into the journal.
    metrics: () => wiring.metrics(),
    ...(host ? { host } : {}),
  });

  // Integration problems go to stderr; under Ink they wait until the screen is released.
  const deferred: string[] = [];
  let screenUp = false;
  const report = (m: string) => (screenUp ? deferred.push(m) : process.stderr.write(`pgrunbook: ${m}\n`));
  const integrations = await attachIntegrations(runner.bus, { runbook: opts.runbook, notify: opts.notify, report });
  let metricsServer: Server | undefined;
  if (opts.metricsPort !== undefined) {
    const exporter = new PrometheusExporter();
    runner.bus.on(exporter.listener);
    metricsServer = await exporter.listen(opts.metricsPort).catch((err: Error) => {
      throw new InputError(`--metrics-port ${opts.metricsPort}: ${err.message}`, 'pick a free port');
    });
  }

  // After the port is taken: a refused port leaves no screen, monitor or pool open.
  await wiring.attach(runner, { connection: opts.connection, runbook: opts.runbook, ...(host ? { host } : {}) });
  screenUp = wiring.interactive;

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
    await wiring.close();
    screenUp = false;
    for (const m of deferred) process.stderr.write(`pgrunbook: ${m}\n`);
    metricsServer?.close();
  }
}
