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
