// dbmate: <version>_<name>.sql with `-- migrate:up` and `-- migrate:down` sections; an up section
// marked `transaction:false` runs outside a transaction.
import { join } from 'node:path';
import type { Migration, MigrationSet } from '../init-types.js';
import { listFiles, readText, splitAtMarkers } from './source-files.js';

const FILE = /^(\d+)_(.+)\.sql$/;

export async function readMarkedFolder(
  root: string,
  markers: Record<'up' | 'down', RegExp>,
  idOf: (m: RegExpExecArray, file: string) => string,
): Promise<Migration[]> {
  const out: Migration[] = [];
  for (const f of await listFiles(root)) {
    const m = FILE.exec(f);
    if (!m) continue;
    const path = join(root, f);
    const parts = splitAtMarkers(await readText(path), path, markers);
    if (!parts.up) continue;
    out.push({
      id: idOf(m, f),
      name: m[2]!,
      up: parts.up,
      ...(parts.down ? { down: parts.down } : {}),
      path,
      ...(/transaction:false/.test(parts.up.marker) ? { noTransaction: true } : {}),
    });
  }
  return out;
}

export async function readDbmate(root: string): Promise<MigrationSet> {
  const migrations = await readMarkedFolder(root, { up: /^--\s*migrate:up\b/, down: /^--\s*migrate:down\b/ }, (m) => m[1]!);
  return { format: 'dbmate', root, migrations };
}
