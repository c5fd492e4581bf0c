// Sqitch: sqitch.plan lists the changes in order; deploy/<change>.sql and revert/<change>.sql
// hold the scripts (verify/ is Sqitch's own and is not needed here).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../util/runbook-error.js';
import type { Migration, MigrationSet } from '../init-types.js';
import { readSql, readText } from './source-files.js';

export async function readSqitch(root: string): Promise<MigrationSet> {
  const planFile = join(root, 'sqitch.plan');
  const text = await readText(planFile);
  let project: string | undefined;
  const migrations: Migration[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const pragma = /^%project=(\S+)/.exec(line);
    if (pragma) project = pragma[1];
    if (!line || line.startsWith('%') || line.startsWith('#') || line.startsWith('@')) continue;
    const m = /^([^\s[@#]+)\s/.exec(line);
    if (!m) throw new InputError(`${planFile}:${i + 1}:1: cannot read this plan line`, 'each change line starts with the change name');
    const name = m[1]!;
    if (seen.has(name))
      throw new InputError(
        `${planFile}:${i + 1}:1: change ${name} is reworked; reworked Sqitch changes are not supported by init`,
        'convert the changes before the rework by hand, or pass --only',
      );
    seen.add(name);
    const down = join(root, 'revert', `${name}.sql`);
    const up = join(root, 'deploy', `${name}.sql`);
    migrations.push({ id: name, name, up: await readSql(up), ...(existsSync(down) ? { down: await readSql(down) } : {}), path: up });
  }
  if (!project) throw new InputError(`${planFile}:1:1: no %project= line`, 'a Sqitch plan names its project on a %project= line');
  return { format: 'sqitch', root, project, migrations };
}
