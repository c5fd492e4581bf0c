// The plain renderer's gate says what the TUI gate says: what approving does, each relation locked
// with the lock in words, the step's why and the evidence — through a real `run --plain` whose
// confirm gate --yes answers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { plainRenderer } from '../../src/render/plain-renderer.js';
import { runCli } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-plain-gate-'));

describe('the plain gate', () => {
  const db = useTestDatabase();
  beforeAll(async () => {
    await db.query('create table accounts (id bigint primary key, name text)');
    await db.query('create table invoices (id bigint primary key, account_id bigint)');
  });

  it('prints the why, every relation locked with its lock in words, and the evidence', async () => {
    const file = join(dir, 'fk.yaml');
    writeFileSync(
      file,
      `version: 1
name: plain gate
phases:
  deploy:
    - id: add_fk
      gate: confirm
      why: Invoices must point at a real account; NOT VALID skips the scan of existing rows.
      sql: alter table invoices add constraint invoices_account_fk foreign key (account_id) references accounts (id) not valid
`,
    );
    const res = await runCli(['run', file, '--db', db.url, '--plain', '--yes', '--journal-dir', dir]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = res.stdout;
    const gate = out.slice(out.indexOf('add_fk: gate (confirm)'));
    expect(gate).toMatch(/^ {9}will: .+/m);
    expect(gate).toMatch(
      /^ {9}lock: SHARE ROW EXCLUSIVE on accounts, invoices: blocks writes, other schema changes and VACUUM; plain reads go on$/m,
    );
    expect(gate).toMatch(/^ {9}why: Invoices must point at a real account; NOT VALID skips the scan of existing rows\.$/m);
    expect(gate).toMatch(/^ {9}[✓✗•] \S.*/m);
    expect(out).toMatch(/add_fk: done/);
  });

  it('says when a gate has no evidence, and words a lock it knows only from the request', () => {
    const lines: string[] = [];
    const render = plainRenderer((s) => lines.push(s));
    const request = {
      id: 'g',
      stepId: 's',
      level: 'confirm' as const,
      title: 'Swap',
      action: 'renames t',
      lockMode: 'AccessExclusiveLock',
      evidence: [],
    };
    render({ type: 'gate.requested', request, at: '2026-01-02T03:04:05.000Z', runId: 'r', seq: 1 } as RunEvent);
    expect(lines.join('')).toBe(
      [
        '03:04:05 s: gate (confirm) Swap',
        '         will: renames t',
        '         lock: ACCESS EXCLUSIVE: blocks every read and write, even a plain SELECT, while held',
        '         evidence: none for this gate',
        '',
      ].join('\n'),
    );
  });
});
