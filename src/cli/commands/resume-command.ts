import type { Command } from 'commander';
import { InputError } from '../../util/runbook-error.js';
import { getRun, latestUnfinishedRun } from '../../engine/state-store.js';
import { executeRun } from '../execute.js';
import { collectList, collectVar, hostEndpoints, outputMode, withDb, withOutput } from '../options.js';
import { correctVars } from '../resume-vars.js';
import { connectionOrExit, finish, withGateFlags } from './run-command.js';
import { withStateClient } from '../state-client.js';

export function register(program: Command): void {
  const cmd = program
    .command('resume')
    .description('continue an interrupted run from the journal in the target database (from any machine)')
    .argument('[run-id]', 'run to resume (default: the most recent unfinished run on this database)')
    .option('--rerun <step>', 'a step that was in flight: run it again (repeatable)', collectList)
    .option('--skip <step>', 'a step that was in flight: treat it as done (repeatable)', collectList)
    .option('--var <name=value>', 'correct a variable for the steps that have not started (journaled; repeatable)', collectVar);
  withGateFlags(withOutput(withDb(cmd))).action(async (runId: string | undefined, o) => {
    const mode = outputMode(o);
    const both = (o.rerun ?? []).filter((s: string) => (o.skip ?? []).includes(s));
    if (both.length)
      throw new InputError(
        `${both.join(', ')}: given to both --rerun and --skip`,
        'pick one: --rerun runs the step again, --skip treats it as done',
      );
    const connection = connectionOrExit(o.db);
    const row = await withStateClient(connection, 'resume', async (client, hasState) => {
      if (!hasState)
        throw new InputError('no pgrunbook runs are recorded in this database', 'check --db; runs are stored in the target database');
      return runId ? getRun(client, runId) : latestUnfinishedRun(client);
    });
    if (!row)
      throw new InputError(
        runId ? `no run ${runId} in this database` : 'no unfinished run in this database',
        'list runs with `pgrunbook status`',
      );
    if (row.status === 'completed') throw new InputError(`run ${row.run_id} already completed; nothing to resume`);
    const runbook = await correctVars(connection, row, o.var ?? {});
    const inFlight: Record<string, 'rerun' | 'skip'> = {};
    for (const s of o.rerun ?? []) inFlight[s] = 'rerun';
    for (const s of o.skip ?? []) inFlight[s] = 'skip';
    finish(
      await executeRun({
        runbook,
        connection,
        mode,
        phases: row.phases,
        resumeRunId: row.run_id,
        inFlight,
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
