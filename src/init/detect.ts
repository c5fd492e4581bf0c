// Which tool's layout a --from path has (overridable with --format), and reading it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/runbook-error.js';
import type { MigrationSet, SourceFormat } from './init-types.js';
import { isDir, listDirs, listFiles, readText } from './sources/source-files.js';
import { readSqlFile } from './sources/sql-file.js';
import { readSqitch } from './sources/sqitch.js';
import { readFlyway } from './sources/flyway.js';
import { readGolangMigrate } from './sources/golang-migrate.js';
import { readDbmate } from './sources/dbmate.js';
import { readNodePgMigrate } from './sources/node-pg-migrate.js';
import { prismaDir, readPrisma } from './sources/prisma.js';
import { readNumberedSql } from './sources/numbered-sql.js';

export async function detectFormat(from: string): Promise<SourceFormat> {
  if (from === '-' || !(await isDir(from))) {
    if (from !== '-' && !existsSync(from))
      throw new InputError(`${from}: no such file or directory`, 'pass a .sql file, - for standard input, or a migration folder');
    return 'sql';
  }
  if (existsSync(join(from, 'sqitch.plan'))) return 'sqitch';
  const files = await listFiles(from);
  if (files.some((f) => /^V[0-9][0-9._]*__.+\.sql$/.test(f))) return 'flyway';
  if (files.some((f) => /^\d+_.+\.up\.sql$/.test(f))) return 'golang-migrate';
  const pdir = prismaDir(from);
  if ((await isDir(pdir)) && (await listDirs(pdir)).some((d) => existsSync(join(pdir, d, 'migration.sql')))) return 'prisma';
  const sql = files.filter((f) => /^\d+[_-].*\.sql$/.test(f));
  for (const f of sql) {
    const text = await readText(join(from, f));
    if (/^--\s*migrate:up\b/m.test(text)) return 'dbmate';
    if (/^--\s*Up Migration/im.test(text)) return 'node-pg-migrate';
  }
  if (sql.length) return 'numbered-sql';
  throw new InputError(
    `${from}: no known migration layout (sqitch.plan, V1__x.sql, 1_x.up.sql, -- migrate:up, <ts>_<name>/migration.sql, -- Up Migration, 001_x.sql)`,
    'pass --format sql|sqitch|flyway|golang-migrate|dbmate|prisma|node-pg-migrate|numbered-sql, or point --from at the migrations folder',
  );
}

export async function readSource(
  from: string,
  format: SourceFormat,
  stdin: () => Promise<string>,
): Promise<MigrationSet & { skipped?: string[] }> {
  switch (format) {
    case 'sql':
      return readSqlFile(from, stdin);
    case 'sqitch':
      return readSqitch(from);
    case 'flyway':
      return readFlyway(from);
    case 'golang-migrate':
      return readGolangMigrate(from);
    case 'dbmate':
      return readDbmate(from);
    case 'prisma':
      return readPrisma(from);
    case 'node-pg-migrate':
      return readNodePgMigrate(from);
    case 'numbered-sql':
      return readNumberedSql(from);
  }
}

/** Tools that run each migration in a transaction of their own. */
export function wrapsInTransaction(format: SourceFormat): boolean {
  return format === 'dbmate' || format === 'flyway' || format === 'golang-migrate' || format === 'prisma';
}
