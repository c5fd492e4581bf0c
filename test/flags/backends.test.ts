import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { RedisFlags } from '../../src/flags/redis.js';
import { PostgresFlags } from '../../src/flags/postgres.js';
import { findRedisServer, startRedis, type RedisHandle } from './redis-server.js';

// In CI a missing redis-server is a broken set-up, not a reason to skip (as for tmux in test/e2e).
const redisBin = findRedisServer();
if (!redisBin.path) {
  if (process.env.CI) throw new Error(`${redisBin.reason}: in CI the Redis flag tests must run (install redis-server in the CI image)`);
  process.stdout.write(`SKIPPED: ${redisBin.reason}\n`);
}

describe.skipIf(!redisBin.path)('Redis flag backend (own redis-server)', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis(redisBin.path!);
  });
  afterAll(async () => redis?.stop());

  it('sets, reads back and removes a percentage', async () => {
    const b = await RedisFlags.connect(redis.url);
    expect(await b.get('f1')).toBeNull();
    await b.set('f1', 25, 'test');
    expect(await b.get('f1')).toBe(25);
    await b.unset('f1');
    expect(await b.get('f1')).toBeNull();
    await b.close();
  });

  it('a refused connection fails with a message that says what to check, without the password', async () => {
    const url = redis.url.replace('redis://', 'redis://:s3cret-pw@').replace(/:(\d+)$/, ':1');
    const err = await RedisFlags.connect(url, { connectTimeoutMs: 500 }).catch((e) => e);
    expect(err.message).toMatch(/cannot connect to redis:/);
    expect(err.message).not.toContain('s3cret-pw');
    expect(err.hint).toMatch(/Redis is running/);
  });
});

describe('Postgres flag backend', () => {
  const db = useTestDatabase();
  it('creates its table, upserts, reads back and removes', async () => {
    const b = new PostgresFlags(db.pool, 'app_flags');
    await b.ensureTable();
    await b.ensureTable();
    expect(await b.get('x')).toBeNull();
    await b.set('x', 5, 'me');
    await b.set('x', 100, 'me');
    expect(await b.get('x')).toBe(100);
    expect(await db.query(`select updated_by from app_flags where name = 'x'`)).toEqual([{ updated_by: 'me' }]);
    await expect(b.set('x', 101, 'me')).rejects.toThrow(/check constraint/);
    await b.unset('x');
    expect(await b.get('x')).toBeNull();
  });
});
