// `pgrunbook <command> | head -1`: the reader closes the pipe early; no command dies on EPIPE.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';

function piped(args: string): { code: number; stderr: string } {
  const script = `"${process.execPath}" "${BIN}" ${args} 2>"$ERR" | head -c 20 >/dev/null; echo "\${PIPESTATUS[0]}"; cat "$ERR"`;
  const r = spawnSync('bash', ['-c', `ERR=$(mktemp); ${script}; rm -f "$ERR"`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  const [code, ...rest] = r.stdout.split('\n');
  return { code: Number(code), stderr: rest.join('\n') };
}

describe('a closed stdout', () => {
  const db = useTestDatabase();

  it('ends schema, validate, status and --help quietly with their own exit code', async () => {
    for (const args of ['schema', 'validate runbooks/demo.yaml', `status --db "${db.url}"`, '--help']) {
      const r = piped(args);
      expect(r.stderr, args).not.toMatch(/EPIPE|Unhandled|at .*\.js:\d+/);
      expect(r.code, args).toBe(0);
    }
  });
});
