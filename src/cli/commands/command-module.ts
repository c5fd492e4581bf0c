import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

// One line per command. Modules load lazily: `pgrunbook demo` must not pay for the analyzer,
// execa or zod before its first frame.
export const commandLoaders: Record<string, () => Promise<CommandModule>> = {
  run: () => import('./run-command.js'),
  resume: () => import('./resume-command.js'),
  status: () => import('./status-command.js'),
  approve: () => import('./approve-command.js'),
  reject: () => import('./approve-command.js'),
  report: () => import('./report-command.js'),
  validate: () => import('./validate-command.js'),
  schema: () => import('./schema-command.js'),
  plan: () => import('./plan-command.js'),
  analyze: () => import('./analyze-command.js'),
  rehearse: () => import('./rehearse-command.js'),
  monitor: () => import('./monitor-command.js'),
  demo: () => import('./demo-command.js'),
  init: () => import('./init-command.js'),
  fleet: () => import('./fleet-command.js'),
  learn: () => import('./learn-command.js'),
};

/** The modules needed for this argv: just the named command, or all of them (help, typos). */
export async function commandModulesFor(argv: string[]): Promise<CommandModule[]> {
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  const one = name ? commandLoaders[name] : undefined;
  if (one) return [await one()];
  // approve and reject share one module: register it once.
  return [...new Set(await Promise.all(Object.values(commandLoaders).map((load) => load())))];
}
