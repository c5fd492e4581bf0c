// A `type` gate in a real `pgrunbook run` (tmux, 80×24, real database): the gate names the relations
// locked and the lock mode in words, refuses a partial name, accepts the table name typed in full and
// Enter, and the step then runs and the run completes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';
import { TERMINAL_ENV, tmuxForTests, TmuxPane } from './support/tmux.js';

const RUNBOOK = `version: 1
name: Add accounts.tier behind a type gate
settings:
  lock_timeout: 2s
phases:
  deploy:
    - id: add_tier
      title: Add accounts.tier
      why: Catalog-only, but it takes ACCESS EXCLUSIVE on accounts for a moment.
      gate: type
      add_column:
        table: accounts
        column: tier
        type: text
`;

const tmux = tmuxForTests('type-gate run test');

describe.skipIf(!tmux)('a type gate in a real run (tmux, 80×24)', () => {
  const db = useTestDatabase();
  let file = '';
  const panes: TmuxPane[] = [];

  beforeAll(async () => {
    await db.query('create table accounts (id bigint primary key, email text)');
    const dir = mkdtempSync(join(tmpdir(), 'pgrb-type-gate-'));
    file = join(dir, 'add-tier.yaml');
    writeFileSync(file, RUNBOOK);
  });
  afterAll(() => {
    for (const p of panes.splice(0)) p.killServer();
  });

  it('shows the locks in words, takes the typed table name, runs the step and completes', async () => {
    const pane = new TmuxPane('run-type-gate');
    panes.push(pane);
    pane.start(`cd ${ROOT} && ${process.execPath} ${BIN} run ${file} --db '${db.url}'; echo "EXIT=$?"; sleep 60`, TERMINAL_ENV);
    await pane.waitForScreen((s) => s.includes('Start the deploy phase') && s.includes('Approve? [y/N]'), 'the deploy plan gate', 60_000);
    pane.type('y');
    const gate = await pane.waitForScreen((s) => s.includes('Type accounts to approve'), 'the type gate', 30_000);
    expect(gate.split('\n').every((l) => l.length <= 80)).toBe(true);
    const flat = gate.replace(/\s+/g, ' ');
    expect(flat).toContain('GATE · type · add_tier');
    // The relation locked and the lock mode, in words.
    expect(flat).toContain('"public"."accounts"');
    expect(flat).toContain('ACCESS EXCLUSIVE');
    expect(flat).toMatch(/blocks every read and write/);

    // A partial name is refused and nothing runs.
    pane.type('acc');
    pane.keys('Enter');
    await pane.waitForScreen((s) => s.includes('"acc" does not match; type accounts exactly'), 'the refusal of a partial name');
    expect(await db.query(`select 1 from pg_attribute where attrelid = 'accounts'::regclass and attname = 'tier'`)).toHaveLength(0);

    // The rest of the name, then Enter: accepted, the step runs and the run completes.
    pane.type('ounts');
    await pane.waitForScreen((s) => s.includes('(Esc declines): accounts'), 'the full name typed');
    pane.keys('Enter');
    const end = await pane.waitForScreen((s) => /EXIT=\d+/.test(s), 'pgrunbook to exit', 60_000);
    expect(Number(/EXIT=(\d+)/.exec(end)![1]), end).toBe(0);
    expect(
      await db.query(`select atttypid::regtype::text t from pg_attribute where attrelid = 'accounts'::regclass and attname = 'tier'`),
    ).toEqual([{ t: 'text' }]);
    const runs = await db.query(`select status from pgrunbook.runs`);
    expect(runs).toEqual([{ status: 'completed' }]);
  });
});
