// File reading shared by the source readers: whole files, marker-split files (dbmate,
// node-pg-migrate), and a folder's .sql files in the tool's order.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../util/runbook-error.js';
import type { SqlText } from '../init-types.js';

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InputError(`${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, 'check the path given to --from');
  }
}

export async function readSql(path: string): Promise<SqlText> {
  return { sql: await readText(path), file: path, line: 1 };
}

export async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

export async function listDirs(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Splits a file at marker lines (`-- migrate:up`, `-- Up Migration`): the text after each marker, with its line. */
export function splitAtMarkers(
  text: string,
  file: string,
  markers: Record<string, RegExp>,
): Record<string, (SqlText & { marker: string }) | undefined> {
  const lines = text.split('\n');
  const out: Record<string, (SqlText & { marker: string }) | undefined> = {};
  let cur: { key: string; start: number; marker: string } | undefined;
  const close = (end: number) => {
    if (cur) out[cur.key] = { sql: lines.slice(cur.start, end).join('\n'), file, line: cur.start + 1, marker: cur.marker };
  };
  lines.forEach((l, i) => {
    for (const [key, re] of Object.entries(markers)) {
      if (re.test(l)) {
        close(i);
        cur = { key, start: i + 1, marker: l.trim() };
      }
    }
  });
  close(lines.length);
  return out;
}
