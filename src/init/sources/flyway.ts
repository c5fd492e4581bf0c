// Flyway: V<version>__<description>.sql (versioned), U<version>__<description>.sql (undo).
// Versions compare part by part as numbers (1.10 after 1.9); `_` separates parts like `.`.
import { join } from 'node:path';
import type { Migration, MigrationSet } from '../init-types.js';
import { listFiles, readSql } from './source-files.js';

const VERSIONED = /^V([0-9][0-9._]*)__(.+)\.sql$/;

export function flywayVersion(raw: string): string {
  return raw.replace(/_/g, '.');
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

export async function readFlyway(root: string): Promise<MigrationSet & { skipped: string[] }> {
  const files = await listFiles(root);
  const migrations: Migration[] = [];
  const skipped = files.filter((f) => /^R__/.test(f));
  for (const f of files) {
    const m = VERSIONED.exec(f);
    if (!m) continue;
    const version = flywayVersion(m[1]!);
    const undo = files.find((u) => u === `U${m[1]}__${m[2]}.sql`);
    const up = join(root, f);
    migrations.push({
      id: version,
      name: m[2]!.replace(/_/g, ' '),
      up: await readSql(up),
      ...(undo ? { down: await readSql(join(root, undo)) } : {}),
      path: up,
    });
  }
  migrations.sort((a, b) => compareVersions(a.id, b.id));
  return { format: 'flyway', root, migrations, skipped };
}
