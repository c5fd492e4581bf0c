// Feature-flag backends. A flag's value is its rollout percentage, 0..100: 0 = off, 100 = on for
// everyone; in between, the application enables it for that share of requests (usually by hashing a
// stable id: hash(user_id) % 100 < percentage). `null` = the flag is not set at all.
import type { Queryable } from '../pg/queryable.js';

export interface FlagBackend {
  /** For messages and the journal: where the flag lives, never with a password. */
  readonly description: string;
  get(key: string): Promise<number | null>;
  set(key: string, percentage: number, by: string): Promise<void>;
  /** Removes the flag (back to "not set"). */
  unset(key: string): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_FLAG_TABLE = 'feature_flags';

/** Where a `flag` step keeps its flag; the step kind receives a factory that opens it. */
export type FlagTarget =
  | { backend: 'redis'; url: string }
  | { backend: 'postgres'; db: Queryable; table: string; createTable: boolean; lockTimeoutMs: number };

export type FlagBackendFactory = (target: FlagTarget) => Promise<FlagBackend>;

export function parsePercentage(raw: string | number | null | undefined): number | null {
  if (raw === null || raw === undefined) return null;
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isFinite(n)) return NaN;
  return n;
}
