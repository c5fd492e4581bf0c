// Pending migrations from the history tables of the tools not installable here (Flyway,
// golang-migrate, Prisma, node-pg-migrate), created with the DDL each tool uses on PostgreSQL and
// one migration recorded the tool's way; the generated runbook deploys the rest and records them.
// An unknown layout of the table stops init with exit 2.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { useTestDatabase } from '../support/pg.js';
import { runRunbook } from '../support/runbook.js';
import { failure } from '../runbooks/seed.js';
import { loadParser } from '../../src/pg/sqlparse.js';
import { LiveCatalog } from '../../src/analyze/live-catalog.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { buildRunbook } from '../../src/init/build-runbook.js';
import { InputError } from '../../src/util/runbook-error.js';
import { runScripts } from '../../src/init/verify.js';
import { flywayChecksum } from '../../src/init/flyway-checksum.js';
import { readFileSync } from 'node:fs';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const fx = (p: string) => fileURLToPath(new URL(`../fixtures/init/${p}`, import.meta.url));

const TOOLS: { name: string; dir: string; history: string; firstApplied: string; pending: string[]; count: string; after: unknown }[] = [
  {
    name: 'Flyway',
    dir: 'flyway',
    // As Flyway's createMetaDataTable.sql for PostgreSQL creates it.
    history: `CREATE TABLE "flyway_schema_history" ("installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER, "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(), "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL);
      ALTER TABLE "flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
      CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");
      INSERT INTO flyway_schema_history VALUES (1, '1', 'create tables', 'SQL', 'V1__create_tables.sql', ${flywayChecksum(readFileSync(fx('flyway/V1__create_tables.sql')))}, 'flyway', now(), 5, true)`,
    firstApplied: 'flyway/V1__create_tables.sql',
    pending: ['1.1', '2'],
    count: `SELECT string_agg(version || ':' || installed_rank || ':' || checksum, ' ' ORDER BY installed_rank) AS v FROM flyway_schema_history`,
    after: `1:1:${flywayChecksum(readFileSync(fx('flyway/V1__create_tables.sql')))} 1.1:2:${flywayChecksum(readFileSync(fx('flyway/V1_1__index_and_check.sql')))} 2:3:${flywayChecksum(readFileSync(fx('flyway/V2__fill_amounts.sql')))}`,
  },
  {
    name: 'golang-migrate',
    dir: 'golang-migrate',
    history: `CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null); INSERT INTO schema_migrations VALUES (1, false)`,
    firstApplied: 'golang-migrate/1_create_tables.up.sql',
    pending: ['2'],
    count: `SELECT string_agg(version || ':' || dirty, ' ') AS v FROM schema_migrations`,
    after: '2:false',
  },
  {
    name: 'Prisma',
    dir: 'prisma',
    history: `CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0);
      INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('a', 'x', now(), '20260101000000_init', 1)`,
    firstApplied: 'prisma/migrations/20260101000000_init/migration.sql',
    pending: ['20260102000000_index'],
    count: `SELECT string_agg(migration_name, ' ' ORDER BY migration_name) AS v FROM _prisma_migrations WHERE finished_at IS NOT NULL`,
    after: '20260101000000_init 20260102000000_index',
  },
  {
    name: 'node-pg-migrate',
    dir: 'node-pg-migrate',
    history: `CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL); INSERT INTO pgmigrations (name, run_on) VALUES ('1767225600000_accounts', now())`,
    firstApplied: 'node-pg-migrate/1767225600000_accounts.sql',
    pending: ['1767312000000_email-not-null'],
    count: `SELECT string_agg(name, ' ' ORDER BY id) AS v FROM pgmigrations`,
    after: '1767225600000_accounts 1767312000000_email-not-null',
  },
];

async function pending(dir: string, pool: any) {
  await loadParser();
  const versionNum = Number((await pool.query(`select current_setting('server_version_num') v`)).rows[0].v);
  return buildRunbook({ from: fx(dir), versionNum, kinds: STEP_KINDS, db: { pool, catalog: new LiveCatalog(pool), versionNum } });
}

describe('init --db: pending migrations from history tables created as each tool creates them', () => {
  for (const t of TOOLS) {
    describe(t.name, () => {
      const db = useTestDatabase();
      it('takes only the pending migrations, deploys them, and records them the tool’s way', async () => {
        // The first migration, as the tool would have run it (node-pg-migrate's file has markers).
        const first = readFileSync(fx(t.firstApplied), 'utf8').split(/^-- Down Migration/m)[0]!;
        await runScripts(db.url, [first, t.history]);
        if (t.dir === 'flyway' || t.dir === 'golang-migrate')
          await db.query(
            `INSERT INTO customers SELECT g, 'c' FROM generate_series(1, 10) g; INSERT INTO orders (customer_id, amount) SELECT g % 10 + 1, g FROM generate_series(1, 500) g`,
          );
        const built = await pending(t.dir, db.pool);
        expect(built.chosen.map((m) => m.id)).toEqual(t.pending);
        const { runbook } = await loadRunbookText(built.yaml, 'init.yaml', { kinds: STEP_KINDS });
        const run = await runRunbook(runbook!, { url: db.url, phases: ['deploy'] });
        expect(run.outcome.status, failure(run.events)).toBe('completed');
        expect((await db.query(t.count))[0].v).toBe(t.after);
        // Nothing pending any more.
        await expect(pending(t.dir, db.pool)).rejects.toThrow(/no pending migrations/);
      });
    });
  }

  describe('a history table pgrunbook does not know', () => {
    const db = useTestDatabase();
    it('stops with exit 2 and names the columns', async () => {
      await db.query(`CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY, applied_at timestamptz)`);
      const err = await pending('dbmate', db.pool).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.opts.exitCode).toBe(2);
      expect(err.message).toMatch(/schema_migrations has columns \(version, applied_at\), not the dbmate layout/);
    });
  });
});
