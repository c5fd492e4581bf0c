// The last step of the runbook tells the migration tool that the migrations are applied, in the
// tool's own way, so its next run does not apply them again.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { quoteLiteral } from '../pg/connection.js';
import type { Migration, MigrationSet, StepDraft } from './init-types.js';
import { flywayChecksum } from './flyway-checksum.js';

type RecordDraft = Omit<StepDraft, 'original'>;

export function recordStep(
  set: MigrationSet,
  chosen: Migration[],
  id: (stem: string) => string,
): { step?: RecordDraft; vars?: { [k: string]: string } } {
  if (chosen.length === 0) return {};
  const last = chosen[chosen.length - 1]!;
  const ids = chosen.map((m) => quoteLiteral(m.id)).join(', ');
  const base = { stage: 'record' as const, gate: 'confirm' as const };
  switch (set.format) {
    case 'sqitch':
      return {
        vars: { sqitch_target: 'db:pg:' },
        step: {
          ...base,
          id: id('record_sqitch'),
          kind: 'shell',
          params: { command: `sqitch deploy --log-only --to ${last.id} {{ sqitch_target }}`, cwd: set.root },
          why: `Tells Sqitch the changes up to ${last.id} are deployed (--log-only records them in sqitch.changes without running them), so \`sqitch deploy\` has nothing left to do. The target comes from --var sqitch_target (default db:pg:, i.e. the PG* environment); keep passwords in PGPASSWORD or ~/.pgpass. To undo: sqitch revert --log-only.`,
        },
      };
    case 'dbmate':
      return sqlRecord(
        base,
        id('record_dbmate'),
        `INSERT INTO schema_migrations (version) VALUES ${chosen.map((m) => `(${quoteLiteral(m.id)})`).join(', ')} ON CONFLICT DO NOTHING`,
        `DELETE FROM schema_migrations WHERE version IN (${ids})`,
        'dbmate: rows in schema_migrations, as `dbmate up` writes them.',
      );
    case 'golang-migrate': {
      const prev = set.migrations[set.migrations.indexOf(chosen[0]!) - 1];
      const back = prev ? `INSERT INTO schema_migrations (version, dirty) VALUES (${prev.id}, false)` : `SELECT 'no earlier version'`;
      return sqlRecord(
        base,
        id('record_migrate'),
        `TRUNCATE schema_migrations;\nINSERT INTO schema_migrations (version, dirty) VALUES (${last.id}, false)`,
        `TRUNCATE schema_migrations;\n${back}`,
        `golang-migrate: what \`migrate force ${last.id}\` does (one row, version ${last.id}, not dirty), without putting the database URL on a command line.`,
      );
    }
    case 'flyway':
      return sqlRecord(
        base,
        id('record_flyway'),
        flywayRows(set, chosen),
        `DELETE FROM flyway_schema_history WHERE type = 'SQL' AND version IN (${ids})`,
        "Flyway: rows in flyway_schema_history with the checksum Flyway computes (CRC32 of the script's lines), so `flyway validate` accepts them and `flyway migrate` skips them.",
      );
    case 'prisma':
      return sqlRecord(
        base,
        id('record_prisma'),
        `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES\n${chosen.map((m) => `  (gen_random_uuid()::text, ${quoteLiteral(sha256(m.path))}, ${quoteLiteral(m.id)}, now(), now(), 1)`).join(',\n')}`,
        `DELETE FROM _prisma_migrations WHERE migration_name IN (${ids})`,
        'Prisma: rows in _prisma_migrations (SHA-256 checksum of migration.sql), what `prisma migrate resolve --applied` records.',
      );
    case 'node-pg-migrate':
      return sqlRecord(
        base,
        id('record_pgmigrations'),
        `INSERT INTO pgmigrations (name, run_on) VALUES ${chosen.map((m) => `(${quoteLiteral(m.id)}, now())`).join(', ')}`,
        `DELETE FROM pgmigrations WHERE name IN (${ids})`,
        'node-pg-migrate: rows in pgmigrations, as its runner writes them.',
      );
    default:
      return {};
  }
}

function sqlRecord(
  base: Pick<RecordDraft, 'stage' | 'gate'>,
  id: string,
  sql: string,
  rollback: string,
  why: string,
): { step: RecordDraft } {
  return { step: { ...base, id, kind: 'sql', params: sql, rollback, why: `Tells the migration tool the migrations are applied. ${why}` } };
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function flywayRows(set: MigrationSet, chosen: Migration[]): string {
  const rows = chosen.map(
    (m, i) =>
      `SELECT coalesce(max(installed_rank), 0) + ${i + 1}, ${quoteLiteral(m.id)}, ${quoteLiteral(m.name)}, 'SQL', ${quoteLiteral(relative(set.root, m.path))}, ${flywayChecksum(readFileSync(m.path))}, current_user, now(), 0, true FROM flyway_schema_history`,
  );
  return `INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, installed_on, execution_time, success)\n${rows.join('\nUNION ALL\n')}`;
}
