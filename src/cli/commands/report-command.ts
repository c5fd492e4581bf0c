import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { InputError } from '../../util/runbook-error.js';
import { buildRunReport, renderMarkdown } from '../../report/run-report.js';
import { withDb } from '../options.js';
import { connectionOrExit } from './run-command.js';
import { withStateClient } from '../state-client.js';

export function register(program: Command): void {
  withDb(
    program
      .command('report')
      .description('write a report of a run from its journal')
      .argument('<run-id>', 'the run (see `pgrunbook status`)')
      .option('--format <md|json>', 'markdown or json', 'md')
      .option('--out <file>', 'write to a file instead of stdout'),
  ).action(async (runId: string, o) => {
    if (o.format !== 'md' && o.format !== 'json') throw new InputError(`--format "${o.format}": use md or json`);
    const connection = connectionOrExit(o.db);
    await withStateClient(connection, 'report', async (client, hasState) => {
      const report = hasState ? await buildRunReport(client, runId) : undefined;
      if (!report) throw new InputError(`no run ${runId} in this database`, 'list runs with `pgrunbook status`');
      const text = o.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderMarkdown(report);
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
  });
}
