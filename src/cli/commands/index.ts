import type { Command } from 'commander';
import * as run from './run.js';
import * as resume from './resume.js';
import * as status from './status.js';
import * as report from './report.js';
import * as validate from './validate.js';
import * as schema from './schema.js';
import * as monitor from './monitor.js';
import * as rehearse from './rehearse.js';
import * as demo from './demo.js';
import * as analyze from './analyze.js';
import * as plan from './plan.js';

export interface CommandModule {
  register(program: Command): void;
}

// One line per command module.
export const commandModules: CommandModule[] = [
  run,
  resume,
  status,
  report,
  validate,
  schema,
  rehearse,
  monitor,
  demo,
  analyze,
  plan,
];
