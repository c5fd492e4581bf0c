// `pgrunbook fleet run` in a real terminal (tmux, 100×30) against real databases: the fleet view
// draws the grid and the waves, Enter opens a running target's run screen and Esc comes back, P
// pauses every target and P again resumes them, and the fleet ends completed with exit 0.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/cli.js';
import { serverUrl, withDatabase } from '../support/pg.js';
import { TERMINAL_ENV, tmuxForTests, TmuxPane } from './support/tmux.js';

const RUNBOOK = `version: 1
name: tenant hold
settings: { lock_timeout: 2s }
phases:
  deploy:
    - id: add_plan
      add_column: { table: accounts, column: plan, type: text }
    - id: hold
      wait: 8s
`;

const NAMES = ['fv_tenant_1', 'fv_tenant_2', 'fv_tenant_3'];

const tmux = tmuxForTests('real-terminal fleet test');

async function admin(url: string, sql: string): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe.skipIf(!tmux)('pgrunbook fleet run in a real terminal (tmux, 100×30)', () => {
  const panes: TmuxPane[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'pgrb-fleet-tmux-'));
  const server = serverUrl();

  beforeAll(async () => {
    for (const name of NAMES) {
      await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin(server, `CREATE DATABASE ${name}`);
      await admin(withDatabase(server, name), 'create table accounts (id bigint primary key, name text)');
    }
    writeFileSync(join(dir, 'hold.yaml'), RUNBOOK);
    writeFileSync(
      join(dir, 'targets.yaml'),
      `targets:\n${NAMES.map((n) => `  - { name: ${n}, url: "${withDatabase(server, n)}" }`).join('\n')}\n`,
    );
  }, 120_000);
  afterAll(async () => {
    for (const p of panes.splice(0)) p.killServer();
    for (const name of NAMES) await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  });

  it('shows the grid and the waves, opens a target with Enter and comes back with Esc, P pauses and resumes all', async () => {
    const pane = new TmuxPane('fleet-view', { columns: 100, rows: 30 });
    panes.push(pane);
    const waves = '[{count: 1}, {percent: 100, parallel: 2}]';
    pane.start(
      `cd ${ROOT} && ${process.execPath} ${BIN} fleet run ${dir}/hold.yaml --targets ${dir}/targets.yaml --state-dir ${dir}/state --journal-dir ${dir}/journal --yes --waves "${waves}"; echo "EXIT=$?"; sleep 60`,
      TERMINAL_ENV,
    );
    // Wave 1: one target, holding in its wait step.
    const first = await pane.waitForScreen((s) => /fv_tenant_1\s+1\s+running\s+hold/.test(s), 'the first target running', 90_000);
    expect(first).toContain('pgrunbook fleet RUNNING');
    expect(first).toMatch(/wave 1: 0\/1/);
    expect(first).toContain('wave 2: 2 waiting');
    expect(first.split('\n').every((l) => l.length <= 100)).toBe(true);

    pane.keys('Enter');
    const opened = await pane.waitForScreen((s) => s.includes('fleet › fv_tenant_1'), "the target's run screen", 30_000);
    expect(opened).toContain('tenant hold');
    expect(opened).toContain('add_plan');
    pane.keys('Escape');
    await pane.waitForScreen((s) => s.includes('pgrunbook fleet') && !s.includes('fleet › '), 'the grid again', 30_000);

    pane.type('P');
    await pane.waitForScreen((s) => /fv_tenant_1\s+1\s+paused/.test(s), 'the target paused', 30_000);
    pane.type('P');
    await pane.waitForScreen((s) => /fv_tenant_1\s+1\s+(running|completed)/.test(s), 'the target resumed', 30_000);

    const end = await pane.waitForScreen((s) => s.includes('EXIT='), 'the fleet to end', 180_000);
    expect(end).toContain('EXIT=0');
    expect(end).toContain('pgrunbook fleet COMPLETED');
    for (const n of NAMES) expect(end).toMatch(new RegExp(`${n}\\s+\\d\\s+completed`));
    expect(end).toMatch(/wave 2: 2\/2 done in/);
  }, 300_000);
});
