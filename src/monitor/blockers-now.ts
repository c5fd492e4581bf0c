// The runner's "who holds locks on this table now" evidence at a step's gate (engine/ports.ts BlockersProbe).
import type { Evidence } from '../engine/gates.js';
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';

export async function blockersNow(db: Queryable, relations: string[]): Promise<Evidence[]> {
  const r = await db.query<{ n: number }>(sqlText('monitor/sql', 'blockers-now'), [relations]);
  const n = r.rows[0]!.n;
  return [{ label: 'sessions holding locks on the table now', value: n, ok: n === 0 ? true : undefined }];
}
