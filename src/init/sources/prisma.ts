// Prisma Migrate: migrations/<timestamp>_<name>/migration.sql (no down migrations).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Migration, MigrationSet } from '../init-types.js';
import { listDirs, readSql } from './source-files.js';

export function prismaDir(root: string): string {
  return existsSync(join(root, 'migrations')) && !existsSync(join(root, 'migration_lock.toml')) ? join(root, 'migrations') : root;
}

export async function readPrisma(root: string): Promise<MigrationSet> {
  const dir = prismaDir(root);
  const migrations: Migration[] = [];
  for (const d of await listDirs(dir)) {
    const path = join(dir, d, 'migration.sql');
    if (!existsSync(path)) continue;
    migrations.push({ id: d, name: d.replace(/^\d+_/, ''), up: await readSql(path), path });
  }
  return { format: 'prisma', root: dir, migrations };
}
