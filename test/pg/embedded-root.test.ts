// `npm run demo` as root from a checkout under a private (0700) directory: PostgreSQL must run as
// the OS user postgres, who cannot enter that directory. The embedded server then runs from a copy
// of the binaries it can read. A hard-linked "clone" under a fresh 0700 directory stands in for
// `git clone` + `npm ci` (same files, different path), so the run is real and quick to set up.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) {
  if (process.env.CI) throw new Error('CI runs as root here: the root-from-a-0700-directory test must run (it needs uid 0)');
  process.stdout.write('SKIPPED: embedded-root.test.ts needs to run as root\n');
}

function demo(cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/pgrunbook.js', 'demo', '--rows', '2000', '--rate', '20', '--exit-when-done'], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe.skipIf(!isRoot)('as root from a checkout under a 0700 directory', () => {
  let home: string;
  let clone: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'pgrunbook-private-home-'));
    chmodSync(home, 0o700);
    clone = join(home, 'pgrunbook');
    mkdirSync(clone);
    execFileSync('cp', ['-al', 'bin', 'dist', 'src', 'runbooks', 'package.json', 'node_modules', clone], { cwd: ROOT });
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('the demo runs to the end, from a copy of the binaries postgres can read', async () => {
    // A fresh, world-enterable TMPDIR, so the copy is really made by this run.
    const tmp = mkdtempSync(join(tmpdir(), 'pgrunbook-root-tmp-'));
    chmodSync(tmp, 0o755);
    try {
      const r = await demo(clone, { TMPDIR: tmp });
      expect(r.out).not.toMatch(/EACCES/);
      expect(r.out).toMatch(/run \S+ completed/);
      expect(r.code, r.out).toBe(0);
      expect(readdirSync(tmp).filter((d) => /^pgrunbook-bin-pg\d+-[0-9a-f]{12}$/.test(d))).toHaveLength(1);
      // The data directory is removed; only the shared binary copy stays.
      expect(readdirSync(tmp).filter((d) => d.includes('.tmp-') || /^pgrunbook-pg\d+-/.test(d))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 180_000);

  it('when postgres cannot reach even the temporary directory, one sentence says what to do', async () => {
    const tmp = join(home, 'tmp'); // inside the 0700 directory
    mkdirSync(tmp);
    const r = await demo(clone, { TMPDIR: tmp });
    expect(r.code).not.toBe(0);
    expect(r.out).not.toMatch(/EACCES|at .*\.js:\d+/);
    expect(r.out).toMatch(
      /runs it as the OS user postgres, who can reach neither .* put the pgrunbook checkout where that user can read it/,
    );
  }, 180_000);
});
