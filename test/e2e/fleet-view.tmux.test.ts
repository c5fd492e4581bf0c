// `pgrunbook fleet run` in a real terminal (tmux, 100×30) against real databases: the fleet view
// draws the grid and the waves, Enter opens a running target's run screen and Esc comes back, P
// pauses every target and P again resumes them, and the fleet ends completed with exit 0. Without
// --yes the gate between waves shows in the view with wave 1's health figures, and y starts wave 2.
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
const GATED = ['fvg_tenant_1', 'fvg_tenant_2', 'fvg_tenant_3'];

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
    for (const name of [...NAMES, ...GATED]) {
      await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin(server, `CREATE DATABASE ${name}`);
      await admin(withDatabase(server, name), 'create table accounts (id bigint primary key, name text)');
    }
    writeFileSync(join(dir, 'hold.yaml'), RUNBOOK);
    const targets = (names: string[]) =>
      `targets:\n${names.map((n) => `  - { name: ${n}, url: "${withDatabase(server, n)}" }`).join('\n')}\n`;
    writeFileSync(join(dir, 'targets.yaml'), targets(NAMES));
    writeFileSync(join(dir, 'gated-targets.yaml'), targets(GATED));
    writeFileSync(
      join(dir, 'short.yaml'),
      RUNBOOK.replace('wait: 8s', 'wait: 1s').replace('- id: add_plan\n', '- id: add_plan\n      gate: none\n'),
    );
  }, 120_000);
  afterAll(async () => {
    for (const p of panes.splice(0)) p.killServer();
    for (const name of [...NAMES, ...GATED]) await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
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

  it('without --yes: each target asks in its own screen, and the gate between waves shows in the view with the health figures', async () => {
    const pane = new TmuxPane('fleet-gate', { columns: 100, rows: 30 });
    panes.push(pane);
    const waves = '[{count: 1}, {percent: 100, parallel: 2}]';
    pane.start(
      `cd ${ROOT} && ${process.execPath} ${BIN} fleet run ${dir}/short.yaml --targets ${dir}/gated-targets.yaml --state-dir ${dir}/gated-state --journal-dir ${dir}/gated-journal --waves "${waves}"; echo "EXIT=$?"; sleep 60`,
      TERMINAL_ENV,
    );
    /** The selected target waits at its deploy gate: the grid says where to answer; Enter, y, back with Esc. */
    const approveSelected = async (): Promise<string> => {
      const row = /› (\S+)\s+\d\s+gate\s.*Enter answers/;
      const at = await pane.waitForScreen((s) => row.test(s), 'a target at its gate', 120_000);
      const name = row.exec(at)![1]!;
      pane.keys('Enter');
      await pane.waitForScreen((s) => s.includes(`fleet › ${name}`) && s.includes('GATE · confirm'), `${name}'s gate`, 30_000);
      pane.type('y');
      await pane.waitForScreen((s) => !s.includes('Approve? [y/N]') || s.includes('Start wave 2?'), `${name} approved`, 30_000);
      pane.keys('Escape');
      return name;
    };
    expect(await approveSelected()).toBe('fvg_tenant_1');
    const gate = await pane.waitForScreen((s) => s.includes('Start wave 2?'), 'the gate between waves', 120_000);
    expect(gate).not.toContain('fleet › '); // Esc went back to the grid; it declined nothing
    expect(gate).toContain('GATE · confirm');
    expect(gate).toContain('Wave 1 passed its health check');
    expect(gate).toMatch(/wave 1 lock waits: at most \d+ sessions? waiting/);
    expect(gate).toMatch(/fvg_tenant_1\s+1\s+completed/);
    expect(gate.split('\n').every((l) => l.length <= 100)).toBe(true);
    pane.type('y');
    // Wave 2: both targets ask; the grid lists those waiting for an answer first.
    const second = [await approveSelected(), await approveSelected()];
    expect(second.sort()).toEqual(['fvg_tenant_2', 'fvg_tenant_3']);
    const end = await pane.waitForScreen((s) => s.includes('EXIT='), 'the fleet to end', 180_000);
    expect(end).toContain('EXIT=0');
    expect(end).toContain('pgrunbook fleet COMPLETED');
    for (const n of GATED) expect(end).toMatch(new RegExp(`${n}\\s+\\d\\s+completed`));
  }, 300_000);
});
