// pgrunbook schema: the runbook JSON Schema (for editors), generated from the zod schemas of the
// format and of every registered step kind. schema/runbook.schema.json is a committed copy.
import type { Command } from 'commander';
import { runbookJsonSchema } from '../../runbook/schema.js';
import { STEP_KINDS } from '../composition-root.js';

export function schemaText(): string {
  return JSON.stringify(runbookJsonSchema(STEP_KINDS), null, 2) + '\n';
}

export function register(program: Command): void {
  program
    .command('schema')
    .description('print the runbook JSON Schema (refresh the copy: pgrunbook schema > schema/runbook.schema.json)')
    .action(() => {
      process.stdout.write(schemaText());
    });
}
