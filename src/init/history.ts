// Which migrations are pending: the ones the tool's own history table does not list as applied.
// The layout of each table is checked first: a table from a tool version we do not know stops
// init with exit 2 rather than guessing.
import { InputError } from '../util/runbook-error.js';
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';
import type { Migration, MigrationSet } from './init-types.js';

interface HistoryTable {
  table: string;
  columns: string[];
  applied: string;
  params?: (set: MigrationSet) => unknown[];
}

export const HISTORY: Partial<Record<MigrationSet['format'], HistoryTable>> = {
  sqitch: {
    table: 'sqitch.changes',
    columns: ['change_id', 'change', 'project', 'committed_at'],
    applied: `SELECT change AS id FROM sqitch.changes WHERE project = $1`,
    params: (s) => [s.project],
  },
  flyway: {
    table: 'flyway_schema_history',
    columns: [
      'installed_rank',
      'version',
      'description',
      'type',
      'script',
      'checksum',
      'installed_by',
      'installed_on',
      'execution_time',
      'success',
    ],
    applied: `SELECT version AS id FROM flyway_schema_history WHERE success AND version IS NOT NULL`,
  },
  'golang-migrate': {
    table: 'schema_migrations',
    columns: ['version', 'dirty'],
    applied: `SELECT version::text AS id, dirty FROM schema_migrations`,
  },
  dbmate: { table: 'schema_migrations', columns: ['version'], applied: `SELECT version AS id FROM schema_migrations` },
  prisma: {
    table: '_prisma_migrations',
    columns: ['id', 'checksum', 'finished_at', 'migration_name', 'logs', 'rolled_back_at', 'started_at', 'applied_steps_count'],
    applied: `SELECT migration_name AS id FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  },
  'node-pg-migrate': { table: 'pgmigrations', columns: ['id', 'name', 'run_on'], applied: `SELECT name AS id FROM pgmigrations` },
};

export async function pendingMigrations(db: Queryable, set: MigrationSet): Promise<{ pending: Migration[]; note: string }> {
  const h = HISTORY[set.format];
  if (!h) return { pending: set.migrations, note: `${set.format} keeps no history table: every migration is taken` };
  const cols = await db.query<{ attname: string }>(sqlText('init/sql', 'history-columns'), [h.table]);
  if (cols.rows.length === 0)
    return { pending: set.migrations, note: `no ${h.table} in the database: nothing applied yet, every migration is pending` };
  const have = new Set(cols.rows.map((r) => r.attname));
  const missing = h.columns.filter((c) => !have.has(c));
  const extra = [...have].filter((c) => !h.columns.includes(c));
  const strict = set.format === 'golang-migrate' || set.format === 'dbmate';
  if (missing.length || (strict && extra.length)) {
    throw new InputError(
      `${h.table} has columns (${[...have].join(', ')}), not the ${set.format} layout pgrunbook knows (${h.columns.join(', ')}): an unknown ${set.format} version, or another tool's table`,
      `check --format (now ${set.format}); or drop --db and choose the migrations with --only`,
    );
  }
  const rows = (await db.query<{ id: string; dirty?: boolean }>(h.applied, h.params?.(set) ?? [])).rows;
  if (set.format === 'golang-migrate') {
    const cur = rows[0];
    if (cur?.dirty)
      throw new InputError(
        `schema_migrations: version ${cur.id} is dirty (a failed migration)`,
        'fix the database and run `migrate force` first',
      );
    const v = cur ? BigInt(cur.id) : -1n;
    return { pending: set.migrations.filter((m) => BigInt(m.id) > v), note: `golang-migrate is at version ${cur?.id ?? 'none'}` };
  }
  const applied = new Set(rows.map((r) => r.id));
  return { pending: set.migrations.filter((m) => !applied.has(m.id)), note: `${applied.size} applied in ${h.table}` };
}
