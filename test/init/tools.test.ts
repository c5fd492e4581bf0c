// The real migration tools: a project's first migrations applied by the tool itself, the pending
// ones deployed through the runbook `init --db` generated, after which the tool reports them
// deployed and has nothing left to do. .ci/run installs Sqitch (Debian: sqitch, libdbd-pg-perl);
// dbmate comes from npm (devDependency, binary in @dbmate/linux-x64); Alembic (Debian: alembic)
// gives its upgrade --sql stream. In CI a missing tool fails.
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { useTestDatabase } from '../support/pg.js';
import { runRunbook } from '../support/runbook.js';
import { failure } from '../runbooks/seed.js';
import { loadParser } from '../../src/pg/sqlparse.js';
import { LiveCatalog } from '../../src/analyze/live-catalog.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { buildRunbook } from '../../src/init/build-runbook.js';
import { newRunner, STEP_KINDS } from '../../src/cli/composition-root.js';

const fx = (p: string) => fileURLToPath(new URL(`../fixtures/init/${p}`, import.meta.url));
const DBMATE = fileURLToPath(new URL('../../node_modules/.bin/dbmate', import.meta.url));

async function has(cmd: string, args: string[]): Promise<boolean> {
  return execa(cmd, args, { reject: false }).then(
    (r) => r.exitCode === 0,
    () => false,
  );
}
function required(name: string, ok: boolean, install: string): boolean {
  if (ok) return true;
  if (process.env.CI)
    throw new Error(`${name} is not installed: .ci/run installs it (${install}); the init tests against the real tool must run in CI`);
  process.stdout.write(`SKIPPED: ${name} is not installed (${install}); the init tests against the real ${name} did not run\n`);
  return false;
}

const sqitchOk = required('sqitch', await has('sqitch', ['--version']), 'apt-get install sqitch libdbd-pg-perl');
const dbmateOk = required('dbmate', await has(DBMATE, ['--version']), 'npm ci');

async function convertPending(from: string, db: { pool: any }, vars: Record<string, string> = {}) {
  await loadParser();
  const versionNum = Number((await db.pool.query(`select current_setting('server_version_num') v`)).rows[0].v);
  const built = await buildRunbook({
    from,
    versionNum,
    kinds: STEP_KINDS,
    db: { pool: db.pool, catalog: new LiveCatalog(db.pool), versionNum },
  });
  const { runbook, problems } = await loadRunbookText(built.yaml, 'init.yaml', { kinds: STEP_KINDS, vars });
  if (!runbook) throw new Error(problems.map((p) => p.message).join('\n'));
  return { built, runbook };
}

describe.skipIf(!sqitchOk)('init --from a Sqitch project, with the real sqitch', () => {
  const db = useTestDatabase();
  it('deploys the pending changes through the runbook; sqitch then reports them deployed', async () => {
    const u = new URL(db.url);
    const target = `db:pg://${u.username}@${u.hostname}:${u.port}${u.pathname}`;
    const env = { SQITCH_FULLNAME: 'pgrunbook test', SQITCH_EMAIL: 'test@example.com' };
    Object.assign(process.env, env); // the runbook's shell step inherits them
    const sqitch = (...args: string[]) => execa('sqitch', args, { cwd: fx('sqitch'), env, reject: false });
    const first = await sqitch('deploy', '--to', 'orders', target);
    expect(first.exitCode, first.stderr).toBe(0);
    await db.query(`INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 20) g;
                    INSERT INTO orders (customer_id, amount) SELECT g % 20 + 1, g FROM generate_series(1, 2000) g; ANALYZE`);

    const { built, runbook } = await convertPending(fx('sqitch'), db, { sqitch_target: target });
    expect(built.chosen.map((m) => m.id)).toEqual(['orders_index', 'orders_status']);
    expect(runbook.phases.deploy.map((s) => s.kind)).toEqual(['create_index', 'sql', 'add_foreign_key', 'shell']);

    const run = await runRunbook(runbook, { url: db.url, phases: ['deploy'] });
    expect(run.outcome.status, failure(run.events)).toBe('completed');
    expect(await db.query(`select indisvalid from pg_index where indexrelid = 'orders_customer_idx'::regclass`)).toEqual([
      { indisvalid: true },
    ]);
    expect(await db.query(`select convalidated from pg_constraint where conname = 'orders_customer_fk'`)).toEqual([{ convalidated: true }]);

    const status = await sqitch('status', target);
    expect(status.stdout).toMatch(/Nothing to deploy \(up-to-date\)/);
    const again = await sqitch('deploy', target);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/Nothing to deploy/);
  });
});

describe.skipIf(!dbmateOk)('init --from a dbmate folder, with the real dbmate', () => {
  const db = useTestDatabase();
  it('deploys the pending migrations through the runbook; dbmate then has nothing pending', async () => {
    const url = `${db.url}?sslmode=disable`;
    const env = { DATABASE_URL: url };
    const dbmate = (dir: string, ...args: string[]) => execa(DBMATE, ['--no-dump-schema', '-d', dir, ...args], { env, reject: false });
    // dbmate has no "up to": apply the first migration from a folder holding only it.
    const early = mkdtempSync(join(tmpdir(), 'dbmate-'));
    try {
      cpSync(fx('dbmate/20260101000000_create_tables.sql'), join(early, '20260101000000_create_tables.sql'));
      const up = await dbmate(early, 'up');
      expect(up.exitCode, up.stderr).toBe(0);
    } finally {
      rmSync(early, { recursive: true, force: true });
    }
    await db.query(`INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 20) g;
                    INSERT INTO orders (customer_id, amount) SELECT g % 20 + 1, g FROM generate_series(1, 2000) g; ANALYZE`);
    const pendingBefore = await dbmate(fx('dbmate'), 'status', '--exit-code');
    expect(pendingBefore.exitCode).toBe(1);

    const { built, runbook } = await convertPending(fx('dbmate'), db);
    expect(built.chosen.map((m) => m.id)).toEqual(['20260102000000', '20260103000000']);
    expect(runbook.phases.deploy.map((s) => s.kind)).toEqual([
      'create_index',
      'add_column',
      'sql',
      'backfill',
      'not_null',
      'not_null',
      'sql',
    ]);

    const run = await runRunbook(runbook, { url: db.url, phases: ['deploy'] });
    expect(run.outcome.status, failure(run.events)).toBe('completed');
    expect(await db.query(`select count(*)::int n from orders where token is null`)).toEqual([{ n: 0 }]);

    const status = await dbmate(fx('dbmate'), 'status', '--exit-code');
    expect(status.exitCode, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/Pending: 0/);
    const again = await dbmate(fx('dbmate'), 'up');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await db.query(`select count(*)::int n from schema_migrations`)).toEqual([{ n: 3 }]);
  });
});

const alembicOk = required('alembic', await has('alembic', ['--version']), 'apt-get install alembic');

const ALEMBIC_REVISION = `"""add token"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'a1b2c3d4e5f6'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('orders', sa.Column('token', postgresql.UUID(), nullable=False, server_default=sa.text('gen_random_uuid()')))
    op.create_index('orders_token_idx', 'orders', ['token'])


def downgrade():
    op.drop_index('orders_token_idx', table_name='orders')
    op.drop_column('orders', 'token')
`;

describe.skipIf(!alembicOk)('init --from - with the real alembic upgrade --sql stream', () => {
  const db = useTestDatabase();
  it('converts the stream (BEGIN/COMMIT left out, the alembic_version bookkeeping kept as sql) and deploys it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alembic-'));
    try {
      const init = await execa('alembic', ['init', 'proj'], { cwd: dir, reject: false });
      expect(init.exitCode, init.stderr).toBe(0);
      const ini = join(dir, 'alembic.ini');
      writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^sqlalchemy\.url = .*$/m, 'sqlalchemy.url = postgresql://app@localhost/app'));
      writeFileSync(join(dir, 'proj', 'versions', 'a1b2c3d4e5f6_add_token.py'), ALEMBIC_REVISION);
      const stream = await execa('alembic', ['upgrade', 'head', '--sql'], { cwd: dir, reject: false });
      expect(stream.exitCode, stream.stderr).toBe(0);

      await db.query(
        `CREATE TABLE orders (id bigserial PRIMARY KEY, amount numeric); INSERT INTO orders (amount) SELECT g FROM generate_series(1, 2000) g`,
      );
      await loadParser();
      const versionNum = Number((await db.pool.query(`select current_setting('server_version_num') v`)).rows[0].v);
      const built = await buildRunbook({
        from: '-',
        versionNum,
        kinds: STEP_KINDS,
        db: { pool: db.pool, catalog: new LiveCatalog(db.pool), versionNum },
        stdin: async () => stream.stdout,
      });
      expect(built.rows.map((r) => `${r.verdict}:${r.kinds.join('+')}`)).toEqual([
        'kept:sql',
        'rewritten:add_column+sql+backfill+not_null',
        'rewritten:create_index',
        'kept:sql',
      ]);
      const { runbook } = await loadRunbookText(built.yaml, 'init.yaml', { kinds: STEP_KINDS });
      const run = await runRunbook(runbook!, { url: db.url, phases: ['deploy'] });
      expect(run.outcome.status, failure(run.events)).toBe('completed');
      expect(await db.query(`select version_num from alembic_version`)).toEqual([{ version_num: 'a1b2c3d4e5f6' }]);
      expect(await db.query(`select count(*)::int n from orders where token is null`)).toEqual([{ n: 0 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
