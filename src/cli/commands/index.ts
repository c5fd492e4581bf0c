import type { Command } from 'commander';
import * as run from './run.js';
import * as resume from './resume.js';
import * as status from './status.js';
import * as report from './report.js';

export interface CommandModule {
  register(program: Command): void;
}

// One line per command module.
export const commandModules: CommandModule[] = [
  run,
  resume,
  status,
  report,
];
