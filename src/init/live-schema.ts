// The starting schema of `init --verify --db`: the target database's own tables (with their indexes,
// constraints, sequences, views, types and functions), read from its catalog by the rehearsal's
// schema copy in one read-only snapshot, and recreated (without rows) in each sandbox database.
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';
import { sqlText } from '../pg/sql-files.js';
import { applyCatalogSection, readCatalogSchema } from '../rehearsal/catalog-dump.js';
import type { CatalogDump } from '../rehearsal/catalog-dump-build.js';
import { watchSession } from '../pg/stall-watchdog.js';

/** `connectionString` undefined: the libpq environment (PGHOST, ...), as every command connects. */
export async function readLiveSchema(connectionString: string | undefined): Promise<{ dump: CatalogDump; tables: number }> {
  const c = watchSession(new pg.Client({ ...clientConfig(connectionString), application_name: 'pgrunbook:init-verify' }), connectionString);
  await c.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query(`SET LOCAL lock_timeout = '2s'`);
    const oids = (await c.query<{ oid: number }>(sqlText('init/sql', 'user-tables'))).rows.map((r) => r.oid);
    const dump = await readCatalogSchema(c, oids);
    await c.query('COMMIT');
    return { dump, tables: oids.length };
  } finally {
    await c.end();
  }
}

/** Recreates the schema in the database at `url`; returns warnings (extensions the sandbox lacks). */
export async function applyLiveSchema(url: string, dump: CatalogDump): Promise<string[]> {
  const c = watchSession(new pg.Client({ connectionString: url, application_name: 'pgrunbook:init-verify' }), url);
  await c.connect();
  try {
    const warnings = await applyCatalogSection(c, dump, 'pre-data');
    await applyCatalogSection(c, dump, 'post-data');
    return warnings;
  } finally {
    await c.end();
  }
}
