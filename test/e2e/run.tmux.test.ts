// `pgrunbook run` in a real terminal (tmux, 80×24) against a real database: the gate teaches at the
// decision (the whole why, the lock level in words, every relation locked, nothing that warns cut),
// and Ctrl+C at a gate exits 1 with the run left resumable, said once.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';
import { TERMINAL_ENV, tmuxForTests, TmuxPane } from './support/tmux.js';

const WHY =
  'A nullable column with no default is a catalog-only change: PostgreSQL records it in pg_attribute and rewrites nothing. ' +
  'It still takes an ACCESS EXCLUSIVE lock for a moment, so lock_timeout keeps it from queueing in front of the traffic. ' +
  'The last sentence of this reason must reach the operator too.';

const RUNBOOK = `version: 1
name: Add accounts.note
settings:
  lock_timeout: 2s
phases:
  deploy:
    - id: add_note
      title: Add accounts.note
      why: >-
        ${WHY}
      gate: confirm
      add_column:
        table: accounts
        column: note
        type: text
`;

const tmux = tmuxForTests('real-terminal run tests');

describe.skipIf(!tmux)('pgrunbook run in a real terminal (tmux, 80×24)', () => {
  const db = useTestDatabase();
  let file = '';
  const panes: TmuxPane[] = [];

  beforeAll(async () => {
    await db.query('create table accounts (id bigint primary key, email text)');
    const dir = mkdtempSync(join(tmpdir(), 'pgrb-run-tmux-'));
    file = join(dir, 'add-note.yaml');
    writeFileSync(file, RUNBOOK);
  });
  afterAll(() => {
    for (const p of panes.splice(0)) p.killServer();
  });

  it('teaches at the gate, and Ctrl+C there exits 1 and says once how to resume', async () => {
    const pane = new TmuxPane('run-ctrlc');
    panes.push(pane);
    pane.start(`cd ${ROOT} && ${process.execPath} ${BIN} run ${file} --db '${db.url}'; echo "EXIT=$?"; sleep 60`, TERMINAL_ENV);
    await pane.waitForScreen((s) => s.includes('Start the deploy phase') && s.includes('Approve? [y/N]'), 'the deploy plan gate', 60_000);
    pane.type('y');
    const gate = await pane.waitForScreen((s) => s.includes('GATE · confirm · add_note'), 'the step gate', 30_000);
    expect(gate.split('\n').every((l) => l.length <= 80)).toBe(true);
    const flat = gate.replace(/\s+/g, ' ');
    // The lock level in words, and the relation it is taken on.
    expect(flat).toContain('ACCESS EXCLUSIVE');
    expect(flat).toMatch(/blocks every read and write/);
    expect(flat).toContain('"public"."accounts"');
    // The why starts on the gate; the rest is one key away, never silently cut.
    expect(flat).toContain('A nullable column with no default');
    pane.type('w');
    await pane.waitForScreen((s) => s.includes('w: back'), 'the whole text, scrollable');
    for (let i = 0; i < 8; i++) pane.keys('Down');
    const why = await pane.waitForScreen((s) => s.replace(/\s+/g, ' ').includes('must reach the operator too.'), 'the end of the why');
    expect(why.split('\n').every((l) => l.length <= 80)).toBe(true);
    pane.type('w');
    await pane.waitForScreen((s) => s.includes('Approve? [y/N]'), 'the gate again');

    pane.keys('C-c');
    const end = await pane.waitForScreen((s) => /EXIT=\d+/.test(s), 'pgrunbook to exit', 30_000);
    expect(Number(/EXIT=(\d+)/.exec(end)![1])).toBe(1);
    const after = pane.capture();
    // One sentence says it stopped and how to resume (the log line is cut at the terminal's width).
    expect(after).toMatch(/run interrupted: the operator quit\. Resume with: pgrunbook resume \d/);
    expect(after.match(/resume/gi)?.length).toBe(2); // "Resume with: pgrunbook resume <run id>"
    // Nothing ran: the column is not there.
    expect(await db.query(`select 1 from pg_attribute where attrelid = 'accounts'::regclass and attname = 'note'`)).toHaveLength(0);
  });
});
