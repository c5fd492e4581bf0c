// --notify and settings.notify through the real binary: the receiver hears the run, a dead webhook
// is reported once on stderr without its URL, and the run still succeeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestDatabase } from '../../support/pg.js';
import { runCli } from '../../support/cli.js';
import { deadPort, startReceiver, type Receiver } from '../../support/http-receiver.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-notify-'));

describe('pgrunbook run --notify', () => {
  const db = useTestDatabase();
  let hook: Receiver;
  beforeAll(async () => {
    hook = await startReceiver();
  });
  afterAll(() => hook.close());

  it('tells a Slack-compatible webhook about the gate, the decision and the outcome; a dead one changes nothing', async () => {
    const file = join(dir, 'notify.yaml');
    writeFileSync(
      file,
      `version: 1
name: notify demo
settings:
  notify:
    - url_env: DEAD_HOOK
phases:
  deploy:
    - id: make
      gate: confirm
      sql: create table notified (id int)
      rollback: drop table notified
`,
    );
    const port = await deadPort();
    const res = await runCli(
      ['run', file, '--db', db.url, '--plain', '--yes', '--journal-dir', dir, '--notify', `slack:${hook.url}/services/T1/B1/s3cr3t`],
      {
        env: { DEAD_HOOK: `http://127.0.0.1:${port}/hooks/d34d` },
      },
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/completed/);
    const texts = hook.received.map((r) => JSON.parse(r.body.toString()).text as string);
    expect(texts[0]).toMatch(/^\*pgrunbook\* notify demo: gate waiting at step deploy: Start the deploy phase\n> 1 deploy step/);
    expect(texts.some((t) => t.startsWith('*pgrunbook* notify demo: gate waiting at step make'))).toBe(true);
    expect(texts.some((t) => /step make approved by .* \(--yes\)/.test(t))).toBe(true);
    expect(texts.at(-1)).toMatch(/^\*pgrunbook\* notify demo: run completed in \d+ s\nrun \S+ on database /);
    expect(hook.received.every((r) => r.path === '/services/T1/B1/s3cr3t')).toBe(true);
    // One line about the dead webhook, naming only its origin.
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^pgrunbook: notify: .*http://127\\.0\\.0\\.1:${port}/…`));
    expect(res.stdout + res.stderr).not.toMatch(/s3cr3t|d34d/);
  });
});
