// Bench-only instrumentation: times every batch transaction of the backfill engine (from its
// `BEGIN;` to the query that ends in COMMIT, or a ROLLBACK) on clients of the given pool.
// Fixed-size buffer.
import type pg from 'pg';

export function timeBatches(pool: pg.Pool, capacity = 1 << 16) {
  const times = new Float64Array(capacity);
  let n = 0;
  const connect = pool.connect.bind(pool) as (...a: any[]) => any;
  // pool.query() calls connect with a callback: leave that path alone.
  (pool as any).connect = async (...args: any[]) => {
    if (args.length > 0) return connect(...args);
    const client = (await connect()) as pg.PoolClient;
    if (!(client as any).__timed) {
      (client as any).__timed = true;
      const query = client.query.bind(client) as (...a: any[]) => any;
      let started: number | undefined;
      (client as any).query = (...args: any[]) => {
        const text = typeof args[0] === 'string' ? args[0] : '';
        if (text.startsWith('BEGIN;')) started = performance.now();
        const p = query(...args);
        if ((/(^|;\s*)COMMIT$/.test(text) || text === 'ROLLBACK') && started !== undefined) {
          const t0 = started;
          started = undefined;
          return Promise.resolve(p).then((r: unknown) => {
            if (n < capacity) times[n++] = performance.now() - t0;
            return r;
          });
        }
        return p;
      };
    }
    return client;
  };
  return {
    summary() {
      const s = Array.from(times.subarray(0, n)).sort((a, b) => a - b);
      const q = (f: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))]! : 0);
      return { count: n, p50: q(0.5), p99: q(0.99), max: s.at(-1) ?? 0 };
    },
  };
}
