// Probe SQL lives in src/monitor/sql/*.sql, one file per probe and, where the server differs, one per
// version: `locks.sql` is the base and `locks.pg14.sql` applies from PostgreSQL 14 on. The highest
// `.pgNN` not newer than the server wins. The files ship as src/**/*.sql (package.json "files"), and
// the path below resolves to them from both src/monitor and dist/monitor.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SQL_DIR = fileURLToPath(new URL('../../src/monitor/sql/', import.meta.url));

const cache = new Map<string, string>();

/** The file name that applies to `serverVersionNum` (e.g. 170004), or undefined when none does. */
export function probeFileFor(name: string, serverVersionNum: number, files: string[] = listSqlFiles()): string | undefined {
  const major = Math.floor(serverVersionNum / 10000);
  const stem = name.replace(/_/g, '-'); // probe names are identifiers, file names kebab-case
  let best: { file: string; from: number } | undefined;
  for (const file of files) {
    let from: number;
    if (file === `${stem}.sql`) from = 0;
    else {
      const m = new RegExp(`^${stem}\\.pg(\\d+)\\.sql$`).exec(file);
      if (!m) continue;
      from = Number(m[1]);
    }
    if (from <= major && (!best || from > best.from)) best = { file, from };
  }
  return best?.file;
}

export function listSqlFiles(): string[] {
  return readdirSync(SQL_DIR).filter((f) => f.endsWith('.sql'));
}

/** The probe's SQL for this server and the file it came from; throws when no file applies. */
export function probeSqlFile(name: string, serverVersionNum: number): { sql: string; file: string } {
  const file = probeFileFor(name, serverVersionNum);
  if (!file) throw new Error(`no monitor SQL "${name}" for server version ${serverVersionNum} in ${SQL_DIR}`);
  let sql = cache.get(file);
  if (sql === undefined) {
    sql = readFileSync(SQL_DIR + file, 'utf8');
    cache.set(file, sql);
  }
  return { sql, file };
}

export function probeSql(name: string, serverVersionNum: number): string {
  return probeSqlFile(name, serverVersionNum).sql;
}
