// Plain numbered .sql files (001_create_users.sql, 002-add-index.sql), run in number order.
import { join } from 'node:path';
import type { Migration, MigrationSet } from '../init-types.js';
import { listFiles, readSql } from './source-files.js';

export async function readNumberedSql(root: string): Promise<MigrationSet> {
  const migrations: Migration[] = [];
  const files = (await listFiles(root)).filter((f) => /^\d+[_-].*\.sql$/.test(f) && !/\.down\.sql$/.test(f));
  files.sort((a, b) => Number(/^\d+/.exec(a)![0]) - Number(/^\d+/.exec(b)![0]) || a.localeCompare(b));
  for (const f of files) {
    const path = join(root, f);
    const id = f.replace(/\.sql$/, '');
    migrations.push({ id, name: id.replace(/^\d+[_-]/, ''), up: await readSql(path), path });
  }
  return { format: 'numbered-sql', root, migrations };
}
