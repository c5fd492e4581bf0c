// One pool client kept checked out across a worker's batches. A checked-out client that loses its
// server emits 'error'; the failing query reports it, so the event itself is ignored here.
import type pg from 'pg';

const ignoreClientError = () => {};

export class PinnedClient {
  private client: pg.PoolClient | undefined;

  constructor(private readonly pool: pg.Pool) {}

  /** The backend of the held connection, while there is one. */
  get pid(): number | undefined {
    return (this.client as { processID?: number } | undefined)?.processID;
  }

  async get(): Promise<pg.PoolClient> {
    if (!this.client) {
      const c = await this.pool.connect();
      c.on('error', ignoreClientError);
      this.client = c;
    }
    return this.client;
  }

  /** Gives the connection back (destroyed when broken); the next `get` takes a new one. */
  release(broken: boolean): void {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    c.removeListener('error', ignoreClientError);
    c.release(broken ? true : undefined);
  }
}
