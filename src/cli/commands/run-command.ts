import type { Command } from 'commander';
import { InputError, type RunbookError } from '../../util/runbook-error.js';
import { ConnectionConfigError, resolveConnection, type ConnectionSpec } from '../../pg/connection.js';
import { PHASES, type PhaseName } from '../../runbook/model.js';
import { executeRun } from '../execute.js';
import { hostEndpoints, outputMode, withDb, withHost, withOutput, withVars } from '../options.js';
import { loadRunbookOrExit } from '../runbook-input.js';
import type { RunOutcome } from '../../engine/runner.js';

export function connectionOrExit(db: string | undefined): ConnectionSpec {
  try {
    return resolveConnection(db);
  } catch (err) {
    if (err instanceof ConnectionConfigError) throw new InputError(err.message, 'pass --db postgres://user@host:5432/dbname');
    throw err;
  }
}

export function withGateFlags(cmd: Command): Command {
  return withHost(cmd)
    .option('--yes', 'approve `confirm` gates in a non-interactive run')
    .option('--allow-irreversible', 'with --yes, also approve `type` gates (irreversible steps)')
    .option('--journal-dir <dir>', 'where the local JSONL copy of the journal goes', '.pgrunbook')
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:PORT/metrics during the run', parsePort)
    .option(
      '--notify <url>',
      'post gates, approvals, failures and the outcome to a webhook (Slack-compatible, or slack:/json: URL; repeatable)',
      collectNotify,
    );
}

function collectNotify(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InputError(`--metrics-port "${v}": expected a port number 0-65535`);
  return n;
}

export function finish(outcome: RunOutcome): void {
  if (outcome.status !== 'completed') {
    process.exitCode = 1;
    const e = outcome.error as RunbookError | undefined;
    if (e?.hint) process.stderr.write(`hint: ${e.hint}\n`);
  }
  // What happened is not fully on record: never exit 0 on that.
  if (outcome.unrecorded) {
    process.exitCode = 1;
    process.stderr.write(`error: ${outcome.unrecorded}\n`);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('run a runbook: plan, test, deploy and monitor phases, with gates')
    .argument('<file>', 'runbook YAML')
    .option('--phase <name>', `run one phase only (${PHASES.join(', ')})`);
  withGateFlags(withOutput(withVars(withDb(cmd)))).action(async (file: string, o) => {
    let phases: PhaseName[] | undefined;
    if (o.phase) {
      if (!(PHASES as readonly string[]).includes(o.phase))
        throw new InputError(`--phase "${o.phase}": unknown phase`, `use one of ${PHASES.join(', ')}`);
      phases = [o.phase as PhaseName];
    }
    const mode = outputMode(o);
    const runbook = await loadRunbookOrExit(file, o.var, o.secretVar);
    const connection = connectionOrExit(o.db);
    finish(
      await executeRun({
        runbook,
        connection,
        mode,
        phases,
        yes: o.yes,
        allowIrreversible: o.allowIrreversible,
        journalDir: o.journalDir,
        metricsPort: o.metricsPort,
        notify: o.notify,
        host: hostEndpoints(o),
      }),
    );
  });
}
