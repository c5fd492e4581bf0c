// A runbook whose first step meets a held lock and is retried, then backfills: enough to make a
// real run emit lock waits, retries, gates and batches (used by the OTel and dashboard tests).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

/** items(id, v) must exist; `more` adds deploy steps after add (v2) and fill. */
export function writeRetryRunbook(dir: string, name: string, batchSize: number, more = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `version: 1
name: ${name}
settings: { lock_timeout: 100ms, ddl_retries: 100 }
phases:
  deploy:
    - id: add
      add_column: { table: items, column: v2, type: int }
    - id: fill
      backfill: { table: items, set: "v2 = v", batch_size: ${batchSize}, pause: 50ms }
${more}`,
  );
  return file;
}

/** An open transaction that has read `table`: ADD COLUMN times out on its lock until release(). */
export async function holdReader(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const c = new pg.Client(url);
  await c.connect();
  await c.query(`BEGIN; SELECT count(*) FROM ${table}`);
  return {
    release: () =>
      c
        .query('COMMIT')
        .then(() => c.end())
        .catch(() => c.end().catch(() => {})),
  };
}
