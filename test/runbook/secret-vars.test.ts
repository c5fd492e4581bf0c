// Secret variables: read from the environment, never in Runbook.vars (what runs store), rendered
// into shell commands as "$ENV"; credential-looking literals draw a FILE:LINE:COL warning.
import { describe, expect, it } from 'vitest';
import { loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem } from '../../src/runbook/model.js';
import { splitStoredVars, storedVars } from '../../src/runbook/secret-vars.js';
import { redact } from '../../src/util/secrets.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const RUNBOOK = `version: 1
name: secrets
vars:
  token: { from_env: T_DEPLOY_TOKEN, secret: true }
  region: { from_env: T_REGION }
  other: null
phases:
  deploy:
    - id: a
      sql: select {{ token | literal }}, {{ region | literal }}, {{ other | literal }}
    - id: b
      shell: deploy --token {{ token }} --other {{ other }}
`;

const env = { T_DEPLOY_TOKEN: 'tok-9f8e7d6c5b4a', T_REGION: 'eu-1', OTHER_SECRET: 'oth-1234-5678' };

describe('secret variables', () => {
  it('from_env secret: rendered where used, left out of vars, shell gets "$ENV", the value is redacted', async () => {
    const { runbook, problems } = await loadRunbookText(RUNBOOK, 'r.yaml', {
      kinds: STEP_KINDS,
      env,
      secretVars: { other: 'OTHER_SECRET' },
    });
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(runbook!.vars).toEqual({ region: 'eu-1' });
    expect(runbook!.secretVars).toEqual({ token: 'T_DEPLOY_TOKEN', other: 'OTHER_SECRET' });
    expect(runbook!.phases.deploy[0]!.params).toBe(`select 'tok-9f8e7d6c5b4a', 'eu-1', 'oth-1234-5678'`);
    expect(runbook!.phases.deploy[1]!.params).toMatchObject({ command: 'deploy --token "$T_DEPLOY_TOKEN" --other "$OTHER_SECRET"' });
    expect(redact('got tok-9f8e7d6c5b4a and oth-1234-5678')).toBe('got *** and ***');
    const stored = storedVars(runbook!);
    expect(stored).toEqual({
      region: 'eu-1',
      token: { from_env: 'T_DEPLOY_TOKEN', secret: true },
      other: { from_env: 'OTHER_SECRET', secret: true },
    });
    expect(JSON.stringify(stored)).not.toMatch(/tok-|oth-/);
    // Resume: the stored form loads again, reading the environment anew.
    const again = await loadRunbookText(RUNBOOK, 'r.yaml', {
      kinds: STEP_KINDS,
      env: { ...env, T_DEPLOY_TOKEN: 'tok-rotated-1234' },
      ...splitStoredVars(stored),
    });
    expect(again.runbook!.phases.deploy[0]!.params).toBe(`select 'tok-rotated-1234', 'eu-1', 'oth-1234-5678'`);
  });

  it('an unset environment variable: an error naming it at FILE:LINE:COL; validate makes it a warning', async () => {
    const res = await loadRunbookText(RUNBOOK, 'r.yaml', { kinds: STEP_KINDS, env: {}, vars: { other: 'x' } });
    const msgs = res.problems.map(formatProblem);
    expect(msgs, msgs.join('\n')).toContain(
      'r.yaml:4:10: variable "token" reads the environment variable T_DEPLOY_TOKEN, which is not set: export it before run and resume',
    );
    expect(res.runbook).toBeUndefined();
    const v = await loadRunbookText(RUNBOOK, 'r.yaml', { kinds: STEP_KINDS, env: {}, vars: { other: 'x' }, envOptional: true });
    expect(v.problems.every((p) => p.severity === 'warning')).toBe(true);
  });

  it('--var cannot set a secret; --secret-var must name a declared variable; raw in shell is refused', async () => {
    const a = await loadRunbookText(RUNBOOK, 'r.yaml', { kinds: STEP_KINDS, env, vars: { token: 'x', other: 'y' } });
    expect(a.problems.map((p) => p.message).join('\n')).toMatch(
      /--var token: "token" is a secret variable; set it through its environment variable T_DEPLOY_TOKEN/,
    );
    const b = await loadRunbookText(RUNBOOK, 'r.yaml', { kinds: STEP_KINDS, env, vars: { other: 'y' }, secretVars: { nope: 'X' } });
    expect(b.problems.map((p) => p.message).join('\n')).toMatch(/--secret-var nope: no variable "nope" is declared/);
    const c = await loadRunbookText(RUNBOOK.replace('--token {{ token }}', '--token {{ token | raw }}'), 'r.yaml', {
      kinds: STEP_KINDS,
      env,
      vars: { other: 'y' },
    });
    expect(c.problems.map((p) => p.message).join('\n')).toMatch(/a secret variable cannot be spliced into a shell command/);
  });
});

describe('credential-looking literals', () => {
  const bad = `version: 1
name: leaky
phases:
  deploy:
    - id: a
      shell: PGPASSWORD=hunter2 psql postgres://app:pa55word@db/shop -c 'select 1'
    - id: b
      shell: curl -H "token=ghp_abcdefghijklmnopqrstuvwxyz0123456789" https://x
    - id: c
      sql: select 1
      why: "api_key: sk9f8e7d6c5b4a3f2e1d0c9b8a7"
`;
  it('warn at the value with FILE:LINE:COL; references and $VARIABLES pass', async () => {
    const { problems } = await loadRunbookText(bad, 'leaky.yaml', { kinds: STEP_KINDS });
    const lines = problems
      .filter((p) => /looks like/.test(p.message))
      .map((p) => `${p.pos.line}:${p.pos.col} ${p.message.split(' written')[0]}`);
    expect(lines).toEqual([
      '6:25 this looks like a password assignment',
      '6:53 this looks like a URL with a password',
      '8:29 this looks like a token',
      '11:22 this looks like a token-shaped value',
    ]);
    expect(problems.every((p) => p.severity === 'warning')).toBe(true);
    const fine = bad
      .replace('hunter2', '"$PW"')
      .replace('app:pa55word@', 'app@')
      .replace('token=ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'token=$TOKEN')
      .replace('sk9f8e7d6c5b4a3f2e1d0c9b8a7', 'see the vault');
    expect((await loadRunbookText(fine, 'fine.yaml', { kinds: STEP_KINDS })).problems.filter((p) => /looks like/.test(p.message))).toEqual(
      [],
    );
  });

  it('the redactor masks PGPASSWORD=, TOKEN= and password= assignments', () => {
    expect(redact('PGPASSWORD=hunter2 psql')).toBe('PGPASSWORD=*** psql');
    expect(redact('DEPLOY_TOKEN=abc123 ./deploy')).toBe('DEPLOY_TOKEN=*** ./deploy');
    expect(redact("host=x password='a b' user=y")).toBe('host=x password=*** user=y');
  });
});
