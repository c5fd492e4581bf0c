// node-pg-migrate's SQL migrations: <timestamp>_<name>.sql with `-- Up Migration` and
// `-- Down Migration` sections; its history (pgmigrations) records the file name without .sql.
import type { MigrationSet } from '../init-types.js';
import { readMarkedFolder } from './dbmate.js';

export async function readNodePgMigrate(root: string): Promise<MigrationSet> {
  const migrations = await readMarkedFolder(root, { up: /^--\s*Up Migration/i, down: /^--\s*Down Migration/i }, (_m, f) =>
    f.replace(/\.sql$/, ''),
  );
  return { format: 'node-pg-migrate', root, migrations };
}
