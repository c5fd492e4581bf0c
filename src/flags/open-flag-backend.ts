// The concrete flag backends behind the `flag` step kind's factory (wired in src/cli/composition-root.ts).
import type { FlagBackend, FlagBackendFactory, FlagTarget } from './flag-backend.js';
import { PostgresFlags } from './postgres.js';
import { RedisFlags } from './redis.js';

export const openFlagBackend: FlagBackendFactory = async (t: FlagTarget): Promise<FlagBackend> => {
  if (t.backend === 'redis') return RedisFlags.connect(t.url);
  const b = new PostgresFlags(t.db, t.table);
  if (t.createTable) await b.ensureTable(t.lockTimeoutMs);
  return b;
};
