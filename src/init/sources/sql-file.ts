// One .sql file, or `-` for standard input (e.g. the output of `alembic upgrade --sql`).
import { basename } from 'node:path';
import type { MigrationSet } from '../init-types.js';
import { readText } from './source-files.js';

export async function readSqlFile(path: string, stdin: () => Promise<string>): Promise<MigrationSet> {
  const fromStdin = path === '-';
  const sql = fromStdin ? await stdin() : await readText(path);
  const file = fromStdin ? 'stdin' : path;
  const name = fromStdin ? 'stdin' : basename(path).replace(/\.sql$/i, '');
  return { format: 'sql', root: path, migrations: [{ id: name, name, up: { sql, file, line: 1 }, path: file }] };
}
