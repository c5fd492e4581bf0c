import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

// One line per command. Modules load lazily: `pgrunbook demo` must not pay for the analyzer,
// execa or zod before its first frame.
export const commandLoaders: Record<string, () => Promise<CommandModule>> = {
  run: () => import('./run.js'),
  resume: () => import('./resume.js'),
  status: () => import('./status.js'),
  report: () => import('./report.js'),
  validate: () => import('./validate.js'),
  schema: () => import('./schema.js'),
  plan: () => import('./plan.js'),
  analyze: () => import('./analyze.js'),
  rehearse: () => import('./rehearse.js'),
  monitor: () => import('./monitor.js'),
  demo: () => import('./demo.js'),
};

/** The modules needed for this argv: just the named command, or all of them (help, typos). */
export async function commandModulesFor(argv: string[]): Promise<CommandModule[]> {
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  const one = name ? commandLoaders[name] : undefined;
  if (one) return [await one()];
  return Promise.all(Object.values(commandLoaders).map((load) => load()));
}
