// Plan's backfill estimate counts the WAL rules: the rolled-back sample batches measure the WAL they
// write (the server's insert position before and after each), and over the whole walk that WAL, set
// against wal_rate, adds the pacing the real run then meets. Real PostgreSQL; the pacing model's
// arithmetic is unit-tested in plan/wal-pacing.test.ts, its accuracy at 1M rows in bench/plan-estimates.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/analyze/plan/build.js';
import { STEP_KINDS, newRunner } from '../../src/cli/composition-root.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { loadOrThrow } from '../support/runbook.js';
import { withReplicationSlot } from '../support/pg-session.js';
import { edgeMajors, plainRoleSql, poolAsRole, useTestDatabase } from '../support/pg.js';

const ROWS = 60_000;
const step = (id: string, walRate: string) => `    - id: ${id}
      backfill:
        table: wal_rows
        set: "note = repeat('x', 500)"
        throttle: { wal_rate: ${walRate}, probe_interval: 100ms, checkpoint_pressure: false }
`;
const runbookFile = (steps: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'pgrunbook-wal-pacing-')), 'wal.yaml');
  writeFileSync(file, `version: 1\nname: wal pacing\nphases:\n  deploy:\n${steps}`);
  return loadOrThrow(file);
};

describe.each(edgeMajors())('plan counts the WAL rules in a backfill estimate, PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  it('measures the WAL the samples write and adds the wal_rate pacing, which the real run meets', { timeout: 120_000 }, async () => {
    await db.query(`DROP TABLE IF EXISTS wal_rows;
      CREATE TABLE wal_rows (id int PRIMARY KEY, note text);
      INSERT INTO wal_rows SELECT g, NULL FROM generate_series(1, ${ROWS}) g`);
    await db.query('VACUUM ANALYZE wal_rows');
    const plan = await buildPlan({
      kinds: STEP_KINDS,
      runbook: await runbookFile(step('paced', '4MB/s') + step('free', '0')),
      pool: db.pool,
      phases: ['deploy'],
    });
    const [paced, free] = plan.steps.map((s) => s.estimate!);
    const why = JSON.stringify({ paced, free });
    // Each row gets 500 bytes of note in a new row version: at least that much WAL, measured, not assumed.
    const m =
      /WAL: ~([\d.]+) MB of WAL in all, ([\d.]+) MB\/s at the projected pace; over the wal_rate limit of 4\.00 MB\/s, so after ~0\.2 s the throttle holds the batches to it; checkpoint_pressure is off; (pg_wal holds [^;]*; )?the WAL rules add ~/.exec(
        paced!.basis,
      );
    expect(m, why).not.toBeNull();
    const walMb = Number(m![1]);
    expect(walMb, why).toBeGreaterThan((ROWS * 500) / 1024 ** 2);
    expect(walMb, why).toBeLessThan((ROWS * 2000) / 1024 ** 2);
    // The first two probe intervals at the projected pace, the rest of the WAL at 4 MB/s, or at 1/21 of the pace when
    // that is more (the rule's duty floor): the estimate says so.
    // (100 ms probes: a fast machine's whole walk can fit in two 250 ms intervals, and then nothing is paced.)
    const pace = Number(m![2]);
    const heldAt = Math.max(4, pace / 21);
    expect(paced!.seconds, why).toBeGreaterThanOrEqual(0.2 + (walMb - 0.2 * pace) / heldAt - 0.1);
    expect(paced!.low, why).toBeLessThan(paced!.seconds);
    expect(free!.basis, why).toMatch(/; wal_rate is off; checkpoint_pressure is off(;|$)/);
    expect(free!.basis, why).not.toMatch(/the WAL rules add/);
    // Nothing the samples wrote stays.
    expect(await db.query('SELECT count(*)::int AS n FROM wal_rows WHERE note IS NOT NULL')).toEqual([{ n: 0 }]);

    // The real run: the throttle holds it by wal_rate, as the plan said, and it takes no less than the band's low end.
    const runner = newRunner({
      runbook: await runbookFile(step('paced', '4MB/s')),
      connection: resolveConnection(db.url),
      gates: new PolicyGates({ yes: true, allowIrreversible: true, user: 'wal-pacing' }),
      nonInteractive: true,
      phases: ['deploy'],
      journalDir: null,
    });
    const reasons = new Set<string>();
    let seconds = Number.NaN;
    runner.bus.on((e) => {
      if (e.type === 'step.throttle' && e.reason) reasons.add(e.reason);
      if (e.type === 'step.completed') seconds = e.durationMs / 1000;
    });
    expect((await runner.run()).status).toBe('completed');
    expect([...reasons], why).toContain('wal_rate');
    expect(seconds, why).toBeGreaterThanOrEqual(paced!.low);
    // Held near the limit, or near 1/21 of the pace where the rule's duty floor allows more (CI: 4.91 s for 41 MB at a 194 MB/s pace).
    expect(seconds, why).toBeGreaterThan(walMb / heldAt / 2);
  });

  it("counts wal_rate's default only while something takes the WAL, as the run does", async () => {
    await db.query(`DROP TABLE IF EXISTS wal_rows;
      CREATE TABLE wal_rows (id int PRIMARY KEY, note text);
      INSERT INTO wal_rows SELECT g, NULL FROM generate_series(1, 20000) g`);
    await db.query('VACUUM ANALYZE wal_rows');
    const runbook = await runbookFile(`    - id: fill
      backfill:
        table: wal_rows
        set: "note = repeat('x', 500)"
`);
    const basis = async () =>
      (await buildPlan({ kinds: STEP_KINDS, runbook, pool: db.pool, phases: ['deploy'] })).steps[0]!.estimate!.basis;
    expect(await basis()).toMatch(
      /WAL: [^;]*; wal_rate's default limit of 50\.0 MB\/s is not applied \(no standby streams from this server and no replication slot or WAL archive \(archive_mode off\) takes its WAL\);/,
    );
    expect(await withReplicationSlot(db.url, basis)).toMatch(/WAL: [^;]*; (under|over) the wal_rate limit of 50\.0 MB\/s/);
  });

  it('plans without the WAL figure, and says so, for a role that may not read the WAL position', async () => {
    const role = `wal_blind_${major}_${process.pid}`;
    await db.query(`DROP TABLE IF EXISTS wal_rows;
      CREATE TABLE wal_rows (id int PRIMARY KEY, note text);
      INSERT INTO wal_rows SELECT g, NULL FROM generate_series(1, 5000) g;
      ANALYZE wal_rows;
      ${plainRoleSql(role)};
      ALTER TABLE wal_rows OWNER TO ${role};
      REVOKE EXECUTE ON FUNCTION pg_current_wal_insert_lsn() FROM PUBLIC`);
    const pool = poolAsRole(db.url, role);
    try {
      const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await runbookFile(step('blind', '4MB/s')), pool, phases: ['deploy'] });
      const estimate = plan.steps[0]!.estimate;
      expect(estimate, JSON.stringify(plan.steps[0])).toBeDefined();
      expect(estimate!.seconds).toBeGreaterThan(0);
      expect(estimate!.basis).toMatch(/; WAL not counted: this role may not read the WAL position/);
    } finally {
      await pool.end();
      await db.query(`GRANT EXECUTE ON FUNCTION pg_current_wal_insert_lsn() TO PUBLIC;
        ALTER TABLE wal_rows OWNER TO CURRENT_USER; DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
