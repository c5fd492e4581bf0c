// chalk (which ink uses for every colour and style) ignores NO_COLOR, so the level is set here,
// once, before the first frame. FORCE_COLOR still wins, as it does for chalk itself.
import chalk from 'chalk';

export function colorsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  // https://no-color.org: present and not empty disables colour.
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return chalk.level > 0;
}

/** Applies the policy to chalk; returns whether colour is on. */
export function applyColorPolicy(env: NodeJS.ProcessEnv = process.env): boolean {
  const on = colorsEnabled(env);
  if (!on) chalk.level = 0;
  else if (chalk.level === 0) chalk.level = 1;
  return on;
}
