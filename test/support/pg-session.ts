// One PostgreSQL session for a piece of set-up; no vitest here, so bench scripts can use it too.
import pg from 'pg';

/** One session on `url` for `fn`, closed after. */
export async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Sends `sql` (commit or rollback) on `holder` after `ms`. Await the result before ending the
 * session: the statement may still be in flight when the work it unblocked returns, and ending the
 * connection under it rejects it with "Connection terminated" where nobody listens.
 */
export function endTransactionLater(holder: pg.Client, ms: number, sql: 'commit' | 'rollback' = 'commit'): () => Promise<void> {
  let sent: Promise<unknown> | undefined;
  const timer = setTimeout(() => {
    sent = holder.query(sql);
  }, ms);
  return async () => {
    clearTimeout(timer);
    await sent;
  };
}

/**
 * `fn` while a temporary physical replication slot exists on the server of `url`: a WAL consumer as
 * pg_replication_slots shows it, without a standby. Temporary, so it goes with the session even
 * if the test dies; not reserved, so it holds no WAL.
 */
export async function withReplicationSlot<T>(url: string, fn: () => Promise<T>): Promise<T> {
  return admin(url, async (c) => {
    await c.query(`SELECT pg_create_physical_replication_slot('pgrunbook_test_' || pg_backend_pid(), false, true)`);
    return fn();
  });
}
