// The fleet report on a real fleet run (three databases, the last one broken so the fleet halts):
// `fleet run --report FILE.md` links every target's own run report (written beside it), gives each
// wave's timings, every gate decision and the halt; `fleet report --out FILE.json` says the same
// as JSON. Through the binary, on real PostgreSQL.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { serverUrl, withDatabase } from '../support/pg.js';

const NAMES = ['fr_tenant_1', 'fr_tenant_2', 'fr_broken_3'];

async function admin(url: string, sql: string): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe('the fleet report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgrb-fleet-report-'));
  const server = serverUrl();

  beforeAll(async () => {
    for (const name of NAMES) {
      await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin(server, `CREATE DATABASE ${name}`);
      // The broken tenant has no accounts table: its add_column fails.
      if (!name.includes('broken')) await admin(withDatabase(server, name), 'create table accounts (id bigint primary key, name text)');
    }
    writeFileSync(
      join(dir, 'plan.yaml'),
      `version: 1
name: tenant plan
settings: { lock_timeout: 2s }
phases:
  deploy:
    - id: add_plan
      add_column: { table: accounts, column: plan, type: text }
`,
    );
    writeFileSync(
      join(dir, 'targets.yaml'),
      `targets:\n${NAMES.map((n) => `  - { name: ${n}, url: "${withDatabase(server, n)}" }`).join('\n')}\n`,
    );
  }, 120_000);
  afterAll(async () => {
    for (const name of NAMES) await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  });

  it("links every target's report, with wave timings, gate decisions and the halt, in markdown and JSON", async () => {
    const state = join(dir, 'state');
    const md = join(dir, 'fleet-report.md');
    const r = await runCli([
      'fleet',
      'run',
      join(dir, 'plan.yaml'),
      '--targets',
      join(dir, 'targets.yaml'),
      '--state-dir',
      state,
      '--journal-dir',
      join(dir, 'journal'),
      '--yes',
      '--plain',
      '--waves',
      '[{count: 1}, {percent: 100, parallel: 2}]',
      '--report',
      md,
    ]);
    expect(r.code).toBe(1);
    const fleet = JSON.parse(readFileSync(join(state, 'fleet.json'), 'utf8')) as { targets: Record<string, { runId: string }> };
    const page = readFileSync(md, 'utf8');
    expect(page).toContain('- Status: **halted** — ');
    for (const n of NAMES) {
      const runId = fleet.targets[n]!.runId;
      expect(runId).toMatch(/\S/);
      expect(page).toContain(`| ${n} | ${n === 'fr_tenant_1' ? 1 : 2} | ${n.includes('broken') ? 'failed' : 'completed'} | ${runId} |`);
      expect(page).toContain(`[report](fleet-report.targets/${n}.md)`);
      // The linked file is that target's own run report.
      expect(readFileSync(join(dir, 'fleet-report.targets', `${n}.md`), 'utf8')).toContain(`# pgrunbook run ${runId}`);
    }
    // One row per wave, each with its time.
    expect(page).toMatch(/\| 1 \| \S+ \| \S+ \| [\d.]+m?s \| 1 \| 1 \| 0 \|/);
    expect(page).toMatch(/\| 2 \| \S+ \| \S+ \| [\d.]+m?s \| 2 \| 1 \| 1 \|/);
    // Every target's gates, decided by --yes: the deploy phase and the step.
    for (const n of NAMES.slice(0, 2)) expect(page).toMatch(new RegExp(`\\*\\*${n}\\*\\* deploy \\(confirm\\): approved by`));
    expect(page).toMatch(/\*\*fr_tenant_1\*\* add_plan \(confirm\): approved by/);
    // The halt, with the failed target and why.
    expect(page).toMatch(/## Halts\n\n- \S+: 1 of 3 targets failed/);
    expect(page).toMatch(/ {2}- failed \*\*fr_broken_3\*\*: .*accounts/);
    expect(page).not.toContain(new URL(server).password || 'no-password-in-url');

    // The same from the state afterwards, as JSON.
    const json = join(dir, 'again.json');
    const again = await runCli(['fleet', 'report', '--state-dir', state, '--out', json]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.fleet.status).toBe('halted');
    expect(report.targets.map((t: { name: string }) => t.name).sort()).toEqual([...NAMES].sort());
    for (const t of report.targets) expect(existsSync(join(dir, t.report))).toBe(true);
    expect(report.waves.map((w: { wave: number }) => w.wave)).toEqual([1, 2]);
    expect(report.halts).toHaveLength(1);
    expect(report.decisions.filter((d: { scope: string }) => d.scope === 'fr_tenant_2').length).toBeGreaterThanOrEqual(2);

    const bad = await runCli(['fleet', 'report', '--state-dir', state, '--out', join(dir, 'x.txt')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('must end in .md or .json');
  }, 240_000);
});
