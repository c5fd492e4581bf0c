// Redis backend (node-redis 5): the flag is a plain string key holding the percentage ("25"),
// the simplest thing any application can read with GET.
import { createClient } from 'redis';
import type { FlagBackend } from './flag-backend.js';
import { DEFAULT_REDIS_URL, parsePercentage } from './flag-backend.js';
import { redact, registerSecret } from '../util/secrets.js';
import { RunbookError } from '../util/runbook-error.js';

export class RedisFlags implements FlagBackend {
  readonly description: string;
  private constructor(
    private readonly client: ReturnType<typeof createClient>,
    url: string,
  ) {
    this.description = `redis ${redact(url)}`;
  }

  static async connect(url: string, opts: { connectTimeoutMs?: number } = {}): Promise<RedisFlags> {
    try {
      const u = new URL(url);
      if (u.password) registerSecret(decodeURIComponent(u.password));
    } catch {
      throw new RunbookError(`flag: not a valid Redis URL: "${redact(url)}"`, {
        hint: 'write it like redis://host:6379 (or rediss:// for TLS)',
        exitCode: 2,
      });
    }
    const client = createClient({ url, socket: { connectTimeout: opts.connectTimeoutMs ?? 5000, reconnectStrategy: false } });
    let lastError: Error | undefined;
    // Without a listener an 'error' event would crash the process.
    client.on('error', (e: Error) => (lastError = e));
    try {
      await client.connect();
    } catch (err) {
      try {
        client.destroy();
      } catch {
        /* never opened */
      }
      const e = (lastError ?? err) as Error;
      throw new RunbookError(`cannot connect to ${redact(url)}: ${redact(e.message)}`, {
        hint: 'check that Redis is running and reachable, and the URL (the flag step `url:` or REDIS_URL)',
      });
    }
    return new RedisFlags(client, url);
  }

  async get(key: string): Promise<number | null> {
    return parsePercentage(await this.client.get(key));
  }

  async set(key: string, percentage: number, _by?: string): Promise<void> {
    await this.client.set(key, String(percentage));
  }

  async unset(key: string): Promise<void> {
    await this.client.del(key);
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => {
      try {
        this.client.destroy();
      } catch {
        /* already closed */
      }
    });
  }
}
