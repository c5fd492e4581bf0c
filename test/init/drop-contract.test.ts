// `init --from` a migration that drops a column or a table, and the runbook it writes run for real:
// the expand phase records the baseline, the contract's `unused` check passes when nothing used the
// column or table since, and fails before the drop's gate (nothing dropped) when an application read
// it between the baseline and the check. With pg_stat_statements (the suite's servers preload it) on
// PostgreSQL 14 and 18, and on servers started without it (pg_stat_user_tables counters). The quiet
// period is shortened from the generated 1m to 2s; everything else runs as written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LiveCatalog } from '../../src/analyze/live-catalog.js';
import { buildRunbook } from '../../src/init/build-runbook.js';
import { runScripts } from '../../src/init/verify.js';
import { loadParser } from '../../src/pg/sqlparse.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import type { Runbook } from '../../src/runbook/model.js';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { PolicyGates, type GatePort, type GateRequest } from '../../src/engine/gates.js';
import type { RunEvent } from '../../src/engine/events.js';
import { createDatabase, edgeMajors, testPool, withDatabase } from '../support/pg.js';
import { runRunbook, type RunResult } from '../support/runbook.js';
import { failure } from '../runbooks/seed.js';

const SCHEMA = `
CREATE TABLE orders (id int PRIMARY KEY, note text, amount int);
INSERT INTO orders SELECT g, 'n' || g, g FROM generate_series(1, 200) g;
CREATE TABLE legacy (id int PRIMARY KEY, v text);
INSERT INTO legacy SELECT g, 'v' || g FROM generate_series(1, 100) g;
ANALYZE;
`;

interface Case {
  name: string;
  migration: string;
  stem: string;
  /** What an application still running the old version reads. */
  appRead: string;
  what: RegExp;
}

const COLUMN: Case = {
  name: 'DROP COLUMN',
  migration: 'ALTER TABLE orders DROP COLUMN note;\n',
  stem: 'drop_note',
  appRead: 'SELECT note FROM orders WHERE id = $1',
  what: /column note of orders/,
};
// The data is copied out first: pgrunbook's own read of legacy, just before the baseline, is not a use.
const TABLE: Case = {
  name: 'DROP TABLE',
  migration:
    'CREATE TABLE legacy_archive (id int PRIMARY KEY, v text);\nINSERT INTO legacy_archive SELECT * FROM legacy;\nDROP TABLE legacy;\n',
  stem: 'drop_legacy',
  appRead: 'SELECT v FROM legacy WHERE id = $1',
  what: /table legacy/,
};

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-init-drop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `pgrunbook init --from FILE --db URL`, the quiet period shortened for the test. */
async function initRunbook(url: string, c: Case): Promise<Runbook> {
  await loadParser();
  const file = join(dir, `${c.stem}.sql`);
  writeFileSync(file, c.migration);
  const pool = testPool(url, 2);
  try {
    const versionNum = Number((await pool.query(`SELECT current_setting('server_version_num') v`)).rows[0].v);
    const built = await buildRunbook({
      from: file,
      versionNum,
      kinds: STEP_KINDS,
      db: { pool, catalog: new LiveCatalog(pool), versionNum },
    });
    expect(built.yaml).toContain('quiet: 1m');
    const { runbook, problems } = await loadRunbookText(built.yaml.replaceAll('quiet: 1m', 'quiet: 2s'), 'init.yaml', {
      kinds: STEP_KINDS,
    });
    if (!runbook) throw new Error(problems.map((p) => p.message).join('\n'));
    return runbook;
  } finally {
    await pool.end();
  }
}

/** Approves every gate as `--yes --allow-irreversible` does (but those `refuse` names), remembering the requests. */
function recordingGates(refuse?: RegExp): { gates: GatePort; asked: GateRequest[] } {
  const asked: GateRequest[] = [];
  const policy = new PolicyGates({ yes: true, allowIrreversible: true, user: 'test' });
  const gates: GatePort = {
    request: async (req) => {
      asked.push(req);
      if (refuse?.test(req.id)) return { approved: false, by: 'operator', reason: 'not the retired version' };
      return policy.request(req);
    },
  };
  return { gates, asked };
}

/** After the failure above: resuming asks to accept those uses; refused, nothing changes; approved, the drop goes on. */
async function resumeAndAccept(url: string, runbook: Runbook, runId: string, c: Case, listed: RegExp): Promise<void> {
  const accept = `${c.stem}_unused:accept-uses`;
  const refusing = recordingGates(/accept-uses/);
  const refused = await runRunbook(runbook, { url, phases: ['deploy'], gates: refusing.gates, resumeRunId: runId });
  expect(refused.outcome.status).toBe('failed');
  const request = refusing.asked.find((g) => g.id === accept)!;
  expect(request).toMatchObject({
    level: 'confirm',
    title: expect.stringMatching(/^Accept the uses of .* the check found at \d\d:\d\d UTC\?$/),
  });
  expect(request.evidence).toEqual([expect.objectContaining({ label: expect.stringMatching(listed) })]);
  expect(failedStep(refused.events)?.error).toMatch(/were not accepted: not the retired version$/);
  expect(refusing.asked.map((g) => g.stepId)).not.toContain(c.stem);
  expect(await exists(url, c)).toBe(true);

  const approving = recordingGates();
  const accepted = await runRunbook(runbook, { url, phases: ['deploy'], gates: approving.gates, resumeRunId: runId });
  expect(accepted.outcome.status, failure(accepted.events)).toBe('completed');
  expect(approving.asked.map((g) => g.id)).toContain(accept);
  expect(evidenceOf(accepted.events, `${c.stem}_unused`)[0]).toMatchObject({
    label: expect.stringMatching(/since the expand step accepted by test \(--yes\) \(found at \d\d:\d\d UTC\)$/),
    value: 3,
  });
  expect(await exists(url, c)).toBe(false);
}

/** Runs the deploy phase until the baseline step of `c` completed, then interrupts it (resumable). */
async function runToBaseline(url: string, runbook: Runbook, c: Case): Promise<RunResult> {
  const run = await runRunbook(runbook, {
    url,
    phases: ['deploy'],
    onRunner: (r) =>
      r.bus.on((e) => {
        if (e.type === 'step.completed' && e.stepId === `${c.stem}_baseline`) r.interrupt('test: between the baseline and the check');
      }),
  });
  expect(run.outcome.status, failure(run.events)).toBe('interrupted');
  return run;
}

/** The old application version: reads `times` times from its own session, which then ends. */
async function appReads(url: string, sql: string, times: number): Promise<void> {
  const c = new pg.Client({ connectionString: url, application_name: 'orders-app' });
  await c.connect();
  for (let i = 0; i < times; i++) await c.query(sql, [i + 1]);
  await c.end();
}

async function exists(url: string, c: Case): Promise<boolean> {
  const sql =
    c === COLUMN
      ? `SELECT 1 FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'note' AND NOT attisdropped`
      : `SELECT 1 FROM pg_class WHERE oid = to_regclass('legacy')`;
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rowCount === 1;
  } finally {
    await client.end();
  }
}

function evidenceOf(events: RunEvent[], stepId: string): any[] {
  return events.filter((e) => e.type === 'step.evidence' && e.stepId === stepId).flatMap((e: any) => e.evidence);
}

function failedStep(events: RunEvent[]): { stepId: string; error: string; hint?: string } | undefined {
  return events.find((e) => e.type === 'step.failed') as any;
}

async function scans(url: string, table: string): Promise<number> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    const r = await c.query(`SELECT seq_scan + coalesce(idx_scan, 0) AS n FROM pg_stat_user_tables WHERE relname = $1`, [table]);
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

/** Polls until the table's scans reach `atLeast` (sessions flush their counters lazily). */
async function waitForScans(url: string, table: string, atLeast: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if ((await scans(url, table)) >= atLeast) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`pg_stat_user_tables never showed ${atLeast} scans of ${table}`);
}

for (const major of edgeMajors()) {
  describe(`init DROP COLUMN / DROP TABLE runbooks with pg_stat_statements, PostgreSQL ${major}`, () => {
    for (const c of [COLUMN, TABLE]) {
      it(`${c.name}: nothing uses it since the baseline → the check passes and it is dropped`, async () => {
        const db = await createDatabase(major, 'initdrop');
        try {
          await runScripts(db.url, [`CREATE EXTENSION pg_stat_statements; ${SCHEMA}`]);
          const runbook = await initRunbook(db.url, c);
          const { gates, asked } = recordingGates();
          const run = await runRunbook(runbook, { url: db.url, phases: ['deploy'], gates });
          expect(run.outcome.status, failure(run.events)).toBe('completed');
          expect(await exists(db.url, c)).toBe(false);
          expect(evidenceOf(run.events, `${c.stem}_baseline`)).toEqual([expect.objectContaining({ ok: true })]);
          expect(evidenceOf(run.events, `${c.stem}_unused`)).toEqual([
            expect.objectContaining({
              value: 0,
              ok: true,
              label: expect.stringMatching(
                new RegExp(`since the expand step ${c.stem}_baseline at \\d\\d:\\d\\d UTC and in the last 2s \\(pg_stat_statements\\)`),
              ),
            }),
          ]);
          expect(asked.find((g) => g.stepId === c.stem)?.level).toBe('type');
        } finally {
          await db.drop();
        }
      }, 120_000);

      it(`${c.name}: an application read between the baseline and the check fails it before the drop's gate; nothing is dropped`, async () => {
        const db = await createDatabase(major, 'initdrop');
        try {
          await runScripts(db.url, [`CREATE EXTENSION pg_stat_statements; ${SCHEMA}`]);
          const runbook = await initRunbook(db.url, c);
          const first = await runToBaseline(db.url, runbook, c);
          await appReads(db.url, c.appRead, 3);
          const { gates, asked } = recordingGates();
          const resumed = await runRunbook(runbook, { url: db.url, phases: ['deploy'], gates, resumeRunId: first.runner.runId });
          expect(resumed.outcome.status).toBe('failed');
          const failed = failedStep(resumed.events)!;
          expect(failed.stepId).toBe(`${c.stem}_unused`);
          expect(failed.error).toMatch(c.what);
          expect(failed.error).toMatch(
            new RegExp(
              `is still in use: calls since the expand step ${c.stem}_baseline at \\d\\d:\\d\\d UTC, none in the last 2s, of a statement using`,
            ),
          );
          expect(failed.error).toContain(`: 3 (${c.appRead})`);
          expect(failed.hint).toMatch(/find what ran it/);
          expect(evidenceOf(resumed.events, `${c.stem}_unused`).filter((e) => e.ok === false)).toHaveLength(1);
          expect(asked.map((g) => g.stepId)).not.toContain(c.stem);
          expect(await exists(db.url, c)).toBe(true);
          await resumeAndAccept(db.url, runbook, first.runner.runId, c, /^calls since the expand step/);
        } finally {
          await db.drop();
        }
      }, 120_000);
    }

    it("a column dropped before its table: the column's contract DDL is pgrunbook's own, not a use of the table", async () => {
      const db = await createDatabase(major, 'initdrop');
      try {
        await runScripts(db.url, [`CREATE EXTENSION pg_stat_statements; ${SCHEMA}`]);
        const runbook = await initRunbook(db.url, {
          ...TABLE,
          migration: 'ALTER TABLE legacy DROP COLUMN v;\nDROP TABLE legacy;\n',
        });
        const run = await runRunbook(runbook, { url: db.url, phases: ['deploy'] });
        expect(run.outcome.status, failure(run.events)).toBe('completed');
        expect(await exists(db.url, TABLE)).toBe(false);
      } finally {
        await db.drop();
      }
    }, 120_000);

    it('a run interrupted during the check: the resumed check still counts the read since the baseline', async () => {
      const db = await createDatabase(major, 'initdrop');
      try {
        await runScripts(db.url, [`CREATE EXTENSION pg_stat_statements; ${SCHEMA}`]);
        const runbook = await initRunbook(db.url, COLUMN);
        const first = await runRunbook(runbook, {
          url: db.url,
          phases: ['deploy'],
          onRunner: (r) =>
            r.bus.on((e) => {
              if (e.type === 'step.started' && e.stepId === 'drop_note_unused') r.interrupt('test: during the check');
            }),
        });
        expect(first.outcome.status, failure(first.events)).toBe('interrupted');
        await appReads(db.url, COLUMN.appRead, 2);
        const { gates, asked } = recordingGates();
        const resumed = await runRunbook(runbook, { url: db.url, phases: ['deploy'], gates, resumeRunId: first.runner.runId });
        expect(resumed.outcome.status).toBe('failed');
        expect(failedStep(resumed.events)).toMatchObject({
          stepId: 'drop_note_unused',
          error: expect.stringMatching(
            /^column note of orders is still in use: calls since the expand step drop_note_baseline .*: 2 \(SELECT note FROM orders WHERE id = \$1\)$/,
          ),
        });
        expect(asked.map((g) => g.id)).not.toContain('drop_note_unused:accept-uses');
        expect(await exists(db.url, COLUMN)).toBe(true);
      } finally {
        await db.drop();
      }
    }, 120_000);
  });
}

for (const major of edgeMajors()) {
  describe(`init DROP TABLE runbook without pg_stat_statements (pg_stat_user_tables), PostgreSQL ${major}`, () => {
    let server: EmbeddedServer;
    beforeAll(async () => {
      server = await EmbeddedServer.start({ major, settings: { shared_preload_libraries: '' } });
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
    });

    async function database(): Promise<string> {
      const name = `nopgss_${Math.random().toString(16).slice(2, 10)}`;
      await runScripts(server.url, [`CREATE DATABASE ${name}`]);
      const url = withDatabase(server.url, name);
      await runScripts(url, [SCHEMA]);
      return url;
    }

    it('nothing reads the table since the baseline → the whole-table comparison passes and it is dropped', async () => {
      const url = await database();
      const runbook = await initRunbook(url, TABLE);
      const run = await runRunbook(runbook, { url, phases: ['deploy'] });
      expect(run.outcome.status, failure(run.events)).toBe('completed');
      expect(await exists(url, TABLE)).toBe(false);
      const evidence = evidenceOf(run.events, 'drop_legacy_unused');
      expect(evidence[0]).toMatchObject({ label: 'pg_stat_statements', value: 'not used' });
      expect(evidence[0].detail).toMatch(/not in shared_preload_libraries/);
      expect(evidence).toContainEqual(
        expect.objectContaining({
          label: expect.stringMatching(
            /^scans and row changes of legacy since the expand step drop_legacy_baseline at \d\d:\d\d UTC \(pg_stat_user_tables\)$/,
          ),
          value: 0,
          ok: true,
        }),
      );
    }, 120_000);

    it('an application read between the baseline and the check is caught by the counters; nothing is dropped', async () => {
      const url = await database();
      const runbook = await initRunbook(url, TABLE);
      const first = await runToBaseline(url, runbook, TABLE);
      const before = await scans(url, 'legacy');
      await appReads(url, TABLE.appRead, 3);
      await waitForScans(url, 'legacy', before + 3);
      const { gates, asked } = recordingGates();
      const resumed = await runRunbook(runbook, { url, phases: ['deploy'], gates, resumeRunId: first.runner.runId });
      expect(resumed.outcome.status).toBe('failed');
      const failed = failedStep(resumed.events)!;
      expect(failed.stepId).toBe('drop_legacy_unused');
      expect(failed.error).toMatch(
        /^table legacy is still in use: scans and row changes of legacy since the expand step drop_legacy_baseline at \d\d:\d\d UTC \(pg_stat_user_tables\): 3$/,
      );
      expect(failed.hint).toMatch(/find what ran it/);
      expect(asked.map((g) => g.stepId)).not.toContain('drop_legacy');
      expect(await exists(url, TABLE)).toBe(true);
      await resumeAndAccept(url, runbook, first.runner.runId, TABLE, /^scans and row changes of legacy since the expand step/);
    }, 120_000);
  });
}
