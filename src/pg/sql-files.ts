// The one loader for the project's SQL files. They live beside their users in `sql/` folders
// (src/monitor/sql, src/pg/catalog/sql, ...), one statement per file and, where the server differs,
// one per version: `locks.sql` is the base and `locks.pg14.sql` applies from PostgreSQL 14 on; the
// highest `.pgNN` not newer than the server wins. The files ship as src/**/*.sql (package.json
// "files"), and SRC_DIR resolves to src/ from both src/pg and dist/pg.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SRC_DIR = fileURLToPath(new URL('../../src/', import.meta.url));

const texts = new Map<string, string>();
const listings = new Map<string, string[]>();

/** The absolute path of a folder of SQL files given relative to src/, e.g. `monitor/sql`. */
export function sqlDir(folder: string): string {
  return `${SRC_DIR}${folder.replace(/\/?$/, '/')}`;
}

/** The `.sql` file names in a folder (relative to src/). */
export function listSqlFiles(folder: string): string[] {
  let files = listings.get(folder);
  if (!files) {
    files = readdirSync(sqlDir(folder)).filter((f) => f.endsWith('.sql'));
    listings.set(folder, files);
  }
  return files;
}

/**
 * The file that applies to `serverVersionNum` (e.g. 170004), or undefined when none does. Without a
 * version only the base file applies. Names may be written as identifiers (`index_progress`): file
 * names are kebab-case.
 */
export function sqlFileFor(name: string, serverVersionNum: number | undefined, files: string[]): string | undefined {
  const stem = name.replace(/_/g, '-');
  const major = serverVersionNum === undefined ? 0 : Math.floor(serverVersionNum / 10000);
  let best: { file: string; from: number } | undefined;
  for (const file of files) {
    const from = file === `${stem}.sql` ? 0 : versionOf(stem, file);
    if (from !== undefined && from <= major && (!best || from > best.from)) best = { file, from };
  }
  return best?.file;
}

function versionOf(stem: string, file: string): number | undefined {
  if (!file.startsWith(`${stem}.pg`) || !file.endsWith('.sql')) return undefined;
  const digits = file.slice(stem.length + 3, -4);
  return /^\d+$/.test(digits) ? Number(digits) : undefined;
}

/** The SQL of `name` in `folder` for this server, and the file it came from; throws when no file applies. */
export function sqlFileText(folder: string, name: string, serverVersionNum?: number): { sql: string; file: string } {
  const file = sqlFileFor(name, serverVersionNum, listSqlFiles(folder));
  if (!file) {
    const version = serverVersionNum === undefined ? '' : ` for server version ${serverVersionNum}`;
    throw new Error(`no SQL file "${name}"${version} in ${sqlDir(folder)}: reinstall pgrunbook (the .sql files ship in src/)`);
  }
  const path = sqlDir(folder) + file;
  let sql = texts.get(path);
  if (sql === undefined) {
    sql = readFileSync(path, 'utf8');
    texts.set(path, sql);
  }
  return { sql, file };
}

/** The SQL of `name` in `folder` (relative to src/) for this server. */
export function sqlText(folder: string, name: string, serverVersionNum?: number): string {
  return sqlFileText(folder, name, serverVersionNum).sql;
}
