// The deploy gate and `plan` show a stored rehearsal's projection when one of the same runbook text
// and variables ran against this database, and fall back to the size-based estimate otherwise.
// Real PostgreSQL: a real rehearsal (embedded sandbox) stores its projection in the source's
// pgrunbook schema; plan reads it back.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testPool } from '../support/pg.js';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/analyze/plan/build.js';
import { planEvidence } from '../../src/analyze/plan/evidence.js';
import { planPlain } from '../../src/analyze/plan/plan-text.js';
import { runbookKey } from '../../src/analyze/plan/rehearsal-projection.js';
import { rehearse, STEP_KINDS } from '../../src/cli/composition-root.js';
import { analyzerDeployPlan } from '../../src/cli/deploy-plan.js';
import { recordProjection } from '../../src/rehearsal/record-projection.js';
import type { Runbook } from '../../src/runbook/model.js';
import { runCli } from '../support/cli.js';
import { loadOrThrow } from '../support/runbook.js';
import { seedOrders, sourceFingerprint, useSourceDatabase } from '../rehearsal/support.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-plan-rehearsal-'));
const PROJECTED = /^projected by the rehearsal of \d{4}-\d\d-\d\d \d\d:\d\d UTC on a 10% sample/;

/** The rehearsal fixture with its column as a variable, so a changed variable can be tried. */
const RUNBOOK = `version: 1
name: rehearsal-projection
vars:
  column: amount_cents
settings:
  lock_timeout: 1s
  ddl_retries: 5
phases:
  deploy:
    - id: add_col
      add_column: { table: orders, column: "{{ column }}", type: bigint }
    - id: fill
      sql: UPDATE orders SET {{ column }} = (amount * 100)::bigint WHERE {{ column }} IS NULL
      rollback: SELECT 1
    - id: nn
      not_null: { table: orders, column: "{{ column }}" }
    - id: idx
      create_index: { table: orders, columns: ["{{ column }}"] }
`;

function writeRunbook(extra = ''): string {
  const path = join(dir, `runbook${extra ? '-edited' : ''}.yaml`);
  writeFileSync(path, RUNBOOK + extra);
  return path;
}

describe('plan and the deploy gate with a stored rehearsal', () => {
  const src = useSourceDatabase((q) => seedOrders(q, 20_000));

  async function planOf(runbook: Runbook) {
    const pool = testPool(src.url, 2);
    try {
      const plan = await buildPlan({ runbook, kinds: STEP_KINDS, pool, phases: ['deploy'] });
      const gate = await analyzerDeployPlan({ pool, runbook, serverVersionNum: plan.server.versionNum });
      return { plan, gate };
    } finally {
      await pool.end();
    }
  }

  it('shows the projection per step once rehearsed, and the size-based estimate again for other text or variables', async () => {
    const file = writeRunbook();
    const runbook = await loadOrThrow(file);
    const before = await planOf(runbook);
    expect(before.plan.rehearsal).toBeUndefined();
    for (const s of before.plan.steps) expect(s.estimate?.basis ?? '').not.toMatch(/rehearsal/);
    expect(before.gate.summary).toMatch(/estimated/);

    const fingerprint = await sourceFingerprint(src.query);
    const logs: string[] = [];
    const r = await rehearse({ runbook, sourceUrl: src.url, samplePct: 10, log: (m) => logs.push(m) });
    expect(r.deploy.status).toBe('completed');
    expect(logs.some((m) => m.startsWith('projection stored in the pgrunbook schema'))).toBe(true);
    // Only pgrunbook's own table was written.
    expect(await sourceFingerprint(src.query)).toEqual(fingerprint);
    const stored = await src.query(`select runbook_key, sample_pct from pgrunbook.rehearsals`);
    expect(stored).toEqual([{ runbook_key: runbookKey(runbook), sample_pct: 10 }]);

    const after = await planOf(runbook);
    expect(after.plan.rehearsal).toMatchObject({ samplePct: 10, allSteps: true });
    expect(after.plan.steps.map((s) => s.id)).toEqual(r.projection.steps.map((s) => s.id));
    for (const s of after.plan.steps) {
      const p = r.projection.steps.find((x) => x.id === s.id)!;
      expect(s.estimate).toMatchObject({ seconds: p.seconds, low: p.low_seconds, high: p.high_seconds });
      expect(s.estimate!.basis).toMatch(PROJECTED);
      const sizeBased = before.plan.steps.find((x) => x.id === s.id)!.estimate;
      // (its read rate is measured again, so only its shape is compared)
      const firstWords = (b: string) => b.split(':')[0]!;
      if (sizeBased)
        expect(s.notes.filter((n) => n.startsWith('size-based estimate: ') && n.includes(`(${firstWords(sizeBased.basis)}`))).toHaveLength(
          1,
        );
    }
    expect(after.plan.deployEstimate!.basis).toMatch(PROJECTED);
    expect(after.plan.deployEstimate!.seconds).toBeCloseTo(r.projection.total_seconds, 2);
    expect(planEvidence(after.plan).find((e) => e.label === 'projected deploy time')?.detail).toMatch(PROJECTED);
    expect(after.gate.summary).toMatch(/projected ~.* \(projected by the rehearsal of .* on a 10% sample\)/);
    expect(planPlain(after.plan)).toMatch(/deploy estimate: .*, projected by the rehearsal of/);

    // Another value of a variable, or another text: the rehearsal says nothing about them.
    const otherVar = await loadOrThrow(file, { column: 'amount_dollars' });
    const edited = await loadOrThrow(writeRunbook('# edited\n'));
    for (const other of [otherVar, edited]) {
      expect(runbookKey(other)).not.toBe(runbookKey(runbook));
      const p = await planOf(other);
      expect(p.plan.rehearsal).toBeUndefined();
      for (const s of p.plan.steps) expect(s.estimate?.basis ?? '').not.toMatch(/rehearsal/);
      expect(p.gate.summary).not.toMatch(/rehearsal/);
    }

    // A role that may not write the pgrunbook schema: the projection is not stored, nothing fails.
    const role = `ro_${src.name}`;
    await src.query(`create role ${role} login`);
    try {
      const url = new URL(src.url);
      url.username = role;
      url.password = '';
      const said = await recordProjection(url.toString(), runbook, r);
      expect(said).toMatch(/^warning: projection not stored \(.*\); plan and the deploy gate will use size-based estimates$/);
      expect(await src.query(`select count(*)::int n from pgrunbook.rehearsals`)).toEqual([{ n: 1 }]);
      // A failed rehearsal or a drill is not stored either.
      expect(await recordProjection(src.url, runbook, { ...r, deploy: { ...r.deploy, status: 'failed' } })).toMatch(/not stored.*failed/);
      expect(await recordProjection(src.url, runbook, r, { drill: true })).toMatch(/not stored.*drill/);
      expect(await src.query(`select count(*)::int n from pgrunbook.rehearsals`)).toEqual([{ n: 1 }]);
    } finally {
      await src.query(`drop owned by ${role}; drop role ${role}`).catch(() => {});
    }
  }, 180_000);

  it('a run whose test phase rehearses shows the projection at its deploy gate (real binary)', async () => {
    const file = join(dir, 'with-rehearse-step.yaml');
    writeFileSync(
      file,
      RUNBOOK.replace('phases:\n', 'phases:\n  test:\n    - id: rehearse\n      rehearse: { sample: 10% }\n').replace(
        'column: amount_cents',
        'column: amount_c2',
      ),
    );
    const run = await runCli(['run', file, '--db', src.url, '--plain', '--yes', '--allow-irreversible']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/rehearse: projection stored in the pgrunbook schema/);
    expect(run.stdout).toMatch(/deploy plan: 4 deploy steps, projected ~.* \(projected by the rehearsal of .* on a 10% sample\)/);
  }, 180_000);
  it('sets a stored projection aside, and says why, once a touched table has grown past the tolerance or it is too old', async () => {
    const file = join(dir, 'expiry.yaml');
    writeFileSync(file, RUNBOOK.replace('column: amount_cents', 'column: amount_c3'));
    const runbook = await loadOrThrow(file);
    const r = await rehearse({ runbook, sourceUrl: src.url, samplePct: 10, log: () => {} });
    expect(r.deploy.status).toBe('completed');
    const [stored] = await src.query(`select source_tables from pgrunbook.rehearsals where runbook_key = $1`, [runbookKey(runbook)]);
    const orders = (stored.source_tables as { table: string; rows: number }[]).find((t) => /orders/.test(t.table))!;
    expect(orders.rows).toBeGreaterThan(0);
    expect((await planOf(runbook)).plan.rehearsal).toMatchObject({ samplePct: 10 });

    // Half as many rows again, and fresh statistics: the projection scaled to a size the table no longer has.
    const half = Math.round(orders.rows / 2);
    await src.query(
      `insert into orders select (jsonb_populate_record(null::orders, to_jsonb(o) || jsonb_build_object('id', o.id + 10000000))).* from orders o order by id limit ${half}; analyze orders`,
    );
    const grown = await planOf(runbook);
    expect(grown.plan.rehearsal).toBeUndefined();
    expect(grown.plan.rehearsalSetAside?.why).toMatch(
      new RegExp(
        `orders has ${(orders.rows + half).toLocaleString('en-US')} rows now against ${orders.rows.toLocaleString('en-US')} then \\(\\+50%, more than the 25% a projection tolerates\\)`,
      ),
    );
    for (const s of grown.plan.steps) expect(s.estimate?.basis ?? '').not.toMatch(PROJECTED);
    expect(grown.plan.deployEstimate!.basis).toMatch(/^size-based: the rehearsal of .* on a 10% sample is set aside because .*orders has/);
    expect(grown.gate.summary).toMatch(/estimated .*\(size-based: the rehearsal of .* is set aside because .*orders has .* rows now/);
    expect(planPlain(grown.plan)).toMatch(/deploy estimate: .*, size-based: the rehearsal of/);

    // A projection within the tolerance but older than the stated age is set aside too.
    await src.query(`update pgrunbook.rehearsals set rehearsed_at = now() - interval '8 days', source_tables = $2 where runbook_key = $1`, [
      runbookKey(runbook),
      JSON.stringify(
        (stored.source_tables as { table: string }[]).map((t) => (t === orders ? { ...orders, rows: orders.rows + half } : t)),
      ),
    ]);
    const old = await planOf(runbook);
    expect(old.plan.rehearsal).toBeUndefined();
    expect(old.plan.rehearsalSetAside?.why).toBe('it is 8 days old, older than the 7 days a projection is used for');
  }, 180_000);
});
