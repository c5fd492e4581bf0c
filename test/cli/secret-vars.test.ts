// Secret variables through the real binary: the value reaches SQL and the shell command, never
// the output, the journal, pgrunbook.runs, the JSONL copy, the report or `sh -c`'s arguments;
// resume reads it again from the environment.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';
import { startReceiver, type Receiver } from '../support/http-receiver.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-secret-'));
const TOKEN = 'tok-7Hq2-secret-Zx91';
const API = 'api-55e1-secret-Lm3';

describe('secret variables', () => {
  const db = useTestDatabase();
  it('never stored or shown; used in SQL and shell; resume after SIGKILL reads the environment again', async () => {
    await db.query('create table effects (id serial primary key, step text not null, value text)');
    const file = join(dir, 'secret.yaml');
    writeFileSync(
      file,
      `version: 1
name: secret-vars
vars:
  token: { from_env: T_DEPLOY_TOKEN, secret: true }
  api: null
phases:
  deploy:
    - id: s1
      sql: insert into effects (step, value) values ('s1', {{ token | literal }})
    - id: sh
      shell: echo "deploying with" {{ token }} {{ api }}; printf '%s' {{ api }} > ${dir}/api.out; tr '\\0' ' ' < /proc/$$/cmdline > ${dir}/argv.out
    - id: w
      wait:
        for: 4s
    - id: s2
      sql: insert into effects (step, value) values ('s2', {{ token | literal }} || {{ api | literal }})
`,
    );
    const journalDir = mkdtempSync(join(tmpdir(), 'pgrunbook-journal-'));
    const env = { T_DEPLOY_TOKEN: TOKEN, T_API: API };
    const args = ['--db', db.url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journalDir];
    const first = startCli(['run', file, '--secret-var', 'api=T_API', ...args], { env });
    await first.waitFor(/ w: /);
    first.child.kill('SIGKILL');
    const killed = await first.done;

    const noEnv = await runCli(['resume', ...args], { env: { T_DEPLOY_TOKEN: '' } });
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toMatch(/variable "token" reads the environment variable T_DEPLOY_TOKEN, which is not set/);

    const resumed = await runCli(['resume', ...args], { env });
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const rows = await db.query<{ step: string; value: string }>('select step, value from effects order by id');
    expect(rows).toEqual([
      { step: 's1', value: TOKEN },
      { step: 's2', value: TOKEN + API },
    ]);
    expect(readFileSync(join(dir, 'api.out'), 'utf8')).toBe(API);
    const argv = readFileSync(join(dir, 'argv.out'), 'utf8');
    expect(argv).toContain('"$T_API"');
    const [run] = await db.query<{ vars: unknown; run_id: string }>('select vars, run_id from pgrunbook.runs');
    expect(run!.vars).toEqual({ token: { from_env: 'T_DEPLOY_TOKEN', secret: true }, api: { from_env: 'T_API', secret: true } });
    const md = await runCli(['report', run!.run_id, '--db', db.url]);
    expect(md.stdout).toMatch(/token=\*\*\* \(secret, from \$T_DEPLOY_TOKEN\)/);
    const journal = await db.query<{ p: string }>('select payload::text p from pgrunbook.events');
    const jsonl = readdirSync(journalDir)
      .map((f) => readFileSync(join(journalDir, f), 'utf8'))
      .join('');
    expect(killed.stdout).toMatch(/deploying with \*\*\* \*\*\*/);
    const everything =
      [killed, noEnv, resumed, md].map((r) => r.stdout + r.stderr).join('\n') +
      journal.map((r) => r.p).join('\n') +
      jsonl +
      argv +
      JSON.stringify(run);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(API);
  }, 180_000); // four CLI runs and a 4 s step: ~48 s at load average 12 on 2 cores; 60 s timed out once

  it('a failure whose server error quotes the secret reaches the webhook and the output as ***', async () => {
    const hook: Receiver = await startReceiver();
    try {
      const file = join(dir, 'secret-fail.yaml');
      // The server's own error echoes the value: invalid input syntax for type integer: "<token>".
      writeFileSync(
        file,
        `version: 1
name: secret-fail
vars:
  token: { from_env: T_DEPLOY_TOKEN, secret: true }
phases:
  deploy:
    - id: cast
      sql: select {{ token | literal }}::int
`,
      );
      const res = await runCli(
        ['run', file, '--db', db.url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', dir, '--notify', `${hook.url}/hook`],
        {
          env: { T_DEPLOY_TOKEN: TOKEN },
        },
      );
      expect(res.code).not.toBe(0);
      const bodies = hook.received.map((r) => r.body.toString());
      const failure = bodies.find((b) => /invalid input syntax for type integer/.test(b));
      expect(failure, bodies.join('\n') + res.stdout + res.stderr).toBeDefined();
      expect(failure).toContain('***');
      expect(res.stdout + res.stderr).toMatch(/invalid input syntax for type integer: "\*\*\*"/);
      expect(bodies.join('\n') + res.stdout + res.stderr).not.toContain(TOKEN);
    } finally {
      await hook.close();
    }
  });

  it('validate warns about a credential literal at FILE:LINE:COL and exits 0; an unset secret is a warning there', async () => {
    const file = join(dir, 'leaky.yaml');
    writeFileSync(
      file,
      `version: 1\nname: leaky\nvars:\n  token: { from_env: NOT_SET_ANYWHERE, secret: true }\nphases:\n  deploy:\n    - id: a\n      shell: PGPASSWORD=hunter2 psql -c "select 1" {{ token }}\n`,
    );
    const r = await runCli(['validate', file], { env: { NOT_SET_ANYWHERE: '' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${file}:8:25: warning: this looks like a password assignment written into the runbook`);
    expect(r.stdout).toContain(`${file}:4:10: warning: variable "token" reads the environment variable NOT_SET_ANYWHERE, which is not set`);
    expect(r.stdout).not.toContain('hunter2');
  });
});
