// Who takes this server's WAL: standbys, replication slots, the archive. wal_rate's default limit
// exists for them (a link, an upload, a decoder that must keep up); with none, the WAL stays on this
// server and its local cost is checkpoint_pressure's business.
import type { Queryable } from './queryable.js';
import { sqlText } from './sql-files.js';

export interface WalConsumers {
  standbys: number;
  slots: number;
  /** archive_mode is on or always. */
  archive: boolean;
}

/** The consumers now; undefined when they could not be read (the caller then assumes some). */
export async function readWalConsumers(db: Queryable): Promise<WalConsumers | undefined> {
  try {
    const r = (await db.query<{ standbys: number; slots: number; archive_mode: string }>(sqlText('pg/sql', 'wal-consumers'))).rows[0];
    return r ? { standbys: Number(r.standbys), slots: Number(r.slots), archive: r.archive_mode !== 'off' } : undefined;
  } catch {
    return undefined;
  }
}

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The consumers in words ("1 standby streaming, 2 replication slots"), or null when there are none. */
export function describeWalConsumers(c: WalConsumers): string | null {
  const parts = [
    ...(c.standbys > 0 ? [`${count(c.standbys, 'standby', 'standbys')} streaming`] : []),
    ...(c.slots > 0 ? [count(c.slots, 'replication slot', 'replication slots')] : []),
    ...(c.archive ? ['archive_mode on'] : []),
  ];
  return parts.length ? parts.join(', ') : null;
}

/** Whether wal_rate's default limit applies: something takes the WAL, or who does could not be read. */
export function defaultWalRateApplies(c: WalConsumers | undefined): boolean {
  return c === undefined || describeWalConsumers(c) !== null;
}

/** Why wal_rate's default limit is left off, in the words of the log and the plan. */
export const NO_WAL_CONSUMERS =
  'no standby streams from this server and no replication slot or WAL archive (archive_mode off) takes its WAL';
