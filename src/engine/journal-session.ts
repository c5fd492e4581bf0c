// The journal's own session, reopened when its connection dies (a reset, a failover, a server
// restart): the journal retries a failed write, and a retry on a dead client could never land.
import type pg from 'pg';
import type { JournalDb } from './journal.js';

export interface JournalSession extends JournalDb {
  end(): Promise<void>;
}

export function journalSession(first: pg.Client, open: () => pg.Client): JournalSession {
  let client = first;
  let dead = false;
  let ended = false;
  const watch = (c: pg.Client) => {
    c.on('error', () => {
      if (c === client) dead = true;
    });
    c.on('end', () => {
      if (c === client) dead = true;
    });
  };
  watch(first);
  return {
    async query(sql, params) {
      if (dead && !ended) {
        const old = client;
        old.end().catch(() => {});
        client = open();
        dead = false;
        watch(client);
        // A failed connect leaves it dead: the journal's next retry opens another.
        await client.connect().catch((err: Error) => {
          dead = true;
          throw err;
        });
      }
      return client.query(sql, params);
    },
    async end() {
      ended = true;
      await client.end().catch(() => {});
    },
  };
}
