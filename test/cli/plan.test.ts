// `pgrunbook plan`: --plain / --json output, --report Markdown, the Ink view (ink-testing-library),
// and bad input. The runbook is the shipped add-column-backfill.yaml, loaded from disk.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import React from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { planCommand } from '../../src/cli/commands/plan-command.js';
import { exitCodeFor } from '../../src/cli/main.js';
import { InputError, RunbookError } from '../../src/util/runbook-error.js';
import { PlanView } from '../../src/ui/plan-view.js';
import { useTestDatabase } from '../support/pg.js';

const RUNBOOK = 'runbooks/add-column-backfill.yaml';
const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-plan-cli-'));
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

function captureStdout(): { text: () => string; restore: () => void } {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: any) => {
    out += String(chunk);
    return true;
  }) as any);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((() => true) as any);
  return {
    text: () => out,
    restore: () => {
      spy.mockRestore();
      err.mockRestore();
    },
  };
}

describe('pgrunbook plan', () => {
  const db = useTestDatabase();
  let cap: ReturnType<typeof captureStdout> | undefined;
  afterEach(() => cap?.restore());

  it('prints a plain plan and writes the Markdown report', async () => {
    await db.query(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), status text);
      INSERT INTO orders SELECT g, g % 100, 'new' FROM generate_series(1, 5000) g; ANALYZE orders;`);
    const report = join(dir, 'plan.md');
    cap = captureStdout();
    const { exitCode, plan } = await planCommand(RUNBOOK, { db: db.url, var: { table: 'orders' }, report }, 'plain');
    const out = strip(cap.text());
    cap.restore();
    cap = undefined;
    expect(exitCode).toBe(0);
    expect(out).toMatch(/^plan: Add a derived column with a backfill/m);
    expect(out).toMatch(/table orders: .*~5,000 rows/);
    expect(out).toMatch(/step deploy\/add_column \(add_column\): gate \w+, reversible/);
    expect(out).toMatch(/orders:AccessExclusiveLock; rewrite no; scan no/);
    expect(out).toMatch(/step deploy\/backfill .*~/);
    expect(out).toMatch(/deploy estimate: ~/);
    expect(plan.target.database).toBe(db.name);

    const md = readFileSync(report, 'utf8');
    expect(md).toMatch(/^# Plan: Add a derived column with a backfill/);
    expect(md).toMatch(/## Summary/);
    expect(md).toMatch(/\| `orders` \| [\d.]+ (kB|MB) \| 5,000 \|/);
    expect(md).toMatch(/### deploy · `not_null` \(not_null\)/);
    expect(md).toMatch(/Estimate basis: .*timed stand-in batches/);
  });

  it('prints the plan as JSON with --json', async () => {
    cap = captureStdout();
    await planCommand(RUNBOOK, { db: db.url, var: { table: 'orders' }, timeBatch: false }, 'json');
    const json = JSON.parse(cap.text());
    expect(json.runbook.name).toBe('Add a derived column with a backfill');
    expect(json.tables[0].name).toBe('orders');
    expect(json.steps.map((s: any) => s.id)).toEqual(expect.arrayContaining(['add_column', 'backfill', 'not_null', 'create_index']));
    expect(json.steps.find((s: any) => s.id === 'add_column').statements[0].analysis.locks[0]).toMatchObject({
      relation: 'orders',
      mode: 'AccessExclusiveLock',
    });
  });

  it('renders the Ink view: server, tables, one line per step, the selected step in detail', async () => {
    cap = captureStdout();
    const { plan } = await planCommand(RUNBOOK, { db: db.url, var: { table: 'orders' }, timeBatch: false }, 'json');
    cap.restore();
    cap = undefined;
    const sel = plan.steps.findIndex((s) => s.id === 'not_null');
    const { lastFrame, unmount } = render(React.createElement(PlanView, { plan, selected: sel, width: 120 }));
    const frame = strip(lastFrame() ?? '');
    unmount();
    expect(frame).toMatch(/^Plan: Add a derived column with a backfill — PostgreSQL/);
    expect(frame).toMatch(/Table {3}orders .*~5,000 rows/);
    expect(frame).toMatch(/› deploy +not_null/);
    expect(frame).toMatch(/── not_null: Make amount_cents NOT NULL/);
    expect(frame).toMatch(/VALIDATE CONSTRAINT/);
    expect(frame).toMatch(/ShareUpdateExclusiveLock · rewrite no · scan YES/);
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
  });

  it("lints the backfill's SET and WHERE but not as a backfill in one transaction; sizes a check's SELECT as a read", async () => {
    // Over 10,000 rows: the analyzer's backfill-in-one-statement rule applies to the table.
    await db.query(`CREATE TABLE big_orders (id bigint PRIMARY KEY, amount numeric(12,2), amount_cents bigint);
      INSERT INTO big_orders SELECT g, g % 100 FROM generate_series(1, 20000) g; ANALYZE big_orders;`);
    const file = join(dir, 'fill.yaml');
    writeFileSync(
      file,
      `version: 1
name: fill
phases:
  deploy:
    - id: fill
      why: batches
      backfill:
        table: big_orders
        set: amount_cents = (amount * 100)::bigint
        where: amount_cents IS NULL
    - id: fill_at_once
      why: one statement
      sql: UPDATE big_orders SET amount_cents = (amount * 100)::bigint WHERE amount_cents IS NULL
    - id: headroom
      why: reads one end of the primary key
      check:
        query: SELECT coalesce(max(id), 0)::bigint FROM big_orders
        expect: ">= 0"
    - id: total
      why: reads the table
      check:
        query: SELECT max(amount) FROM big_orders
        expect: ">= 0"
`,
    );
    cap = captureStdout();
    await planCommand(file, { db: db.url, timeBatch: false }, 'json');
    const json = JSON.parse(cap.text());
    const rules = (id: string) =>
      json.steps.find((s: any) => s.id === id).statements.flatMap((st: any) => (st.analysis?.findings ?? []).map((f: any) => f.rule));
    expect(rules('fill_at_once')).toContain('backfill-in-one-statement');
    expect(rules('fill')).not.toContain('backfill-in-one-statement');
    // The backfill locks its cursor row in pgrunbook's state: listed with the step's locks, but not
    // sized as a table of the change, nor missing before the first run creates it.
    expect(JSON.stringify(json.steps.find((s: any) => s.id === 'fill').locks)).toMatch(/pgrunbook\.backfill_cursors/);
    expect([...json.tables.map((t: any) => t.name), ...json.missingTables]).toEqual(['big_orders']);
    // A check's SELECT is a read, sized as one; max() of the key reads one end of its index.
    const estimate = (id: string) => json.steps.find((s: any) => s.id === id).statements[0].estimate;
    expect(estimate('headroom')).toMatchObject({ seconds: 0, basis: expect.stringMatching(/^no table read in full/) });
    expect(estimate('total').seconds).toBeGreaterThan(0);
    expect(estimate('total').basis).toMatch(/^one read of the table/);
  });

  it('rejects a bad phase and a broken runbook with exit 2, and an unreachable server clearly', async () => {
    const phase = await planCommand(RUNBOOK, { db: db.url, phase: 'launch' }, 'plain').catch((e) => e);
    expect(phase).toBeInstanceOf(InputError);
    expect(exitCodeFor(phase)).toBe(2);
    const undefinedVar = await planCommand(RUNBOOK, { db: db.url, var: { nosuchvar: 'x' } }, 'plain').catch((e) => e);
    expect(exitCodeFor(undefinedVar)).toBe(2);
    const conn = await planCommand(RUNBOOK, { db: 'postgres://u:pa55word@127.0.0.1:1/x' }, 'plain').catch((e) => e);
    expect(conn).toBeInstanceOf(RunbookError);
    expect(conn.message).toMatch(/cannot connect/);
    expect(`${conn.message} ${conn.hint}`).not.toMatch(/pa55word/);
  });
});
