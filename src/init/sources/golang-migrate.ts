// golang-migrate: <version>_<name>.up.sql and <version>_<name>.down.sql, versions as integers.
import { join } from 'node:path';
import type { Migration, MigrationSet } from '../init-types.js';
import { listFiles, readSql } from './source-files.js';

const UP = /^(\d+)_(.+)\.up\.sql$/;

export async function readGolangMigrate(root: string): Promise<MigrationSet> {
  const files = await listFiles(root);
  const migrations: Migration[] = [];
  for (const f of files) {
    const m = UP.exec(f);
    if (!m) continue;
    const down = files.find((d) => d === `${m[1]}_${m[2]}.down.sql`);
    const up = join(root, f);
    migrations.push({
      id: String(BigInt(m[1]!)),
      name: m[2]!,
      up: await readSql(up),
      ...(down ? { down: await readSql(join(root, down)) } : {}),
      path: up,
    });
  }
  migrations.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  return { format: 'golang-migrate', root, migrations };
}
