// bin/pgrunbook.js refuses a Node older than package.json's "engines" with a message that says what
// to install, instead of crashing inside a dependency. The child runs on the test's own Node and is
// told another version number before the launcher starts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/cli.js';

function launchAs(version: string) {
  const pretend =
    `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '${version}' } });` +
    `Object.defineProperty(process, 'version', { value: 'v${version}' });`;
  return spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(pretend)}`, BIN, '--help'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

describe('the launcher checks the Node version', () => {
  it('follows the engines range of package.json', () => {
    const engines = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).engines.node;
    expect(engines, 'bin/pgrunbook.js checks this range by hand: change both together').toBe('^22.22.0 || >=24.0.0');
  });

  it.each(['20.20.2', '22.21.9', '23.11.0'])('refuses Node %s and says what to install', (v) => {
    const r = launchAs(v);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`Node.js v${v} is not supported`);
    expect(r.stderr).toContain('nvm install 24');
    expect(r.stdout).toBe('');
  });

  it.each(['22.22.0', '24.0.0', '26.1.0'])('starts on Node %s', (v) => {
    const r = launchAs(v);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: pgrunbook');
  });
});
