// argv -> command. Each command lives in src/cli/commands/<name>.ts and exports `register(program)`.
import { Command, CommanderError } from 'commander';
import { redact, redactedMessage } from '../util/secrets.js';
import { RunbookError } from '../util/runbook-error.js';
import { commandModulesFor } from './commands/command-module.js';
import { exitQuietlyOnClosedStdout } from './closed-stdout.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('pgrunbook')
    .description('Interactive runbooks for risky PostgreSQL changes: plan, rehearse, deploy, monitor, rollback.')
    .version('0.1.0')
    .showHelpAfterError('(run `pgrunbook --help` for usage)')
    .exitOverride();
  exitQuietlyOnClosedStdout();
  try {
    for (const m of await commandModulesFor(argv)) m.register(program);
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
    if (err instanceof CommanderError) return; // commander already printed its message
    printError(err);
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof RunbookError) return err.opts.exitCode ?? 1;
  return 1;
}

export function printError(err: unknown): void {
  const e = err as RunbookError;
  let text = `pgrunbook: ${redactedMessage(err)}`;
  if (e instanceof RunbookError && e.hint) text += `\n  hint: ${redact(e.hint)}`;
  if (process.env.PGRUNBOOK_DEBUG && e?.stack) text += `\n${redact(e.stack)}`;
  process.stderr.write(text + '\n');
}
