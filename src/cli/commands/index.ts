import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

// One line per command module.
export const commandModules: CommandModule[] = [];
