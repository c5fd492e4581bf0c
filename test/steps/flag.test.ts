import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { flagKind } from '../../src/steps/flag.js';
import { openFlagBackend } from '../../src/flags/open-flag-backend.js';
import type { GatePort, GateRequest } from '../../src/engine/gates.js';
import { harness, eventsOf } from './ddl/helpers.js';
import { findRedisServer, startRedis, type RedisHandle } from '../flags/redis-server.js';
import { RedisFlags } from '../../src/flags/redis.js';

class RecordingGates implements GatePort {
  requests: GateRequest[] = [];
  constructor(private readonly approve: (r: GateRequest) => boolean = () => true) {}
  async request(req: GateRequest) {
    this.requests.push(req);
    return { approved: this.approve(req), by: 'tester' };
  }
}

const flag = flagKind(openFlagBackend);

const redisBin = findRedisServer();
// In CI a missing redis-server is a broken set-up, not a reason to skip (as in test/flags/backends.test.ts).
if (!redisBin.path) {
  if (process.env.CI) throw new Error(`${redisBin.reason}: in CI the Redis flag tests must run (install redis-server in the CI image)`);
  process.stdout.write(`SKIPPED: ${redisBin.reason}\n`);
}

for (const major of edgeMajors())
  describe(`flag with the Postgres backend on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    const base = { backend: 'postgres', key: 'reads_from_jsonb', stages: [5, 25, 100], validate: 'SELECT count(*) = 0 FROM bad_rows' };

    it('rolls out in stages with a gate and evidence between them, reads back each, and rolls back', async () => {
      await db.query(`CREATE TABLE bad_rows (id int)`);
      const gates = new RecordingGates();
      const h = await harness(flag, base, { url: db.url, gates });
      expect(h.plan.statements.map((s) => s.description)).toEqual([
        'flag reads_from_jsonb → 5%',
        'flag reads_from_jsonb → 25%',
        'flag reads_from_jsonb → 100%',
      ]);
      expect(flag.defaultGate!(h.step, h.plan)).toBe('confirm');
      await flag.apply(h.step, h.ctx);
      expect(gates.requests.map((r) => r.title)).toEqual([
        'Raise reads_from_jsonb from 5% to 25%',
        'Raise reads_from_jsonb from 25% to 100%',
      ]);
      expect(gates.requests[0]!.evidence).toContainEqual(expect.objectContaining({ label: 'validation query', value: true, ok: true }));
      expect(await db.query(`select percentage from feature_flags where name = 'reads_from_jsonb'`)).toEqual([{ percentage: 100 }]);
      expect(await flag.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      expect(eventsOf(h.ctx, 'step.evidence')).toHaveLength(3);
      await flag.rollback!(h.step, h.ctx);
      expect(await db.query(`select percentage from feature_flags where name = 'reads_from_jsonb'`)).toEqual([]);
      await h.ctx.close();
    });

    it('a failing validation stops the rollout at that stage; rollback restores the earlier value', async () => {
      await db.query(
        `INSERT INTO feature_flags (name, percentage) VALUES ('reads_from_jsonb', 0) ON CONFLICT (name) DO UPDATE SET percentage = 0`,
      );
      await db.query(`INSERT INTO bad_rows VALUES (1)`);
      const gates = new RecordingGates();
      const h = await harness(flag, base, { url: db.url, gates });
      await expect(flag.apply(h.step, h.ctx)).rejects.toThrow(/validation failed at 5%/);
      expect(gates.requests).toHaveLength(0);
      expect(await db.query(`select percentage from feature_flags where name = 'reads_from_jsonb'`)).toEqual([{ percentage: 5 }]);
      await flag.rollback!(h.step, h.ctx);
      expect(await db.query(`select percentage from feature_flags where name = 'reads_from_jsonb'`)).toEqual([{ percentage: 0 }]);
      await h.ctx.close();
    });

    it('a stage the operator does not approve stops there; resume continues from it', async () => {
      await db.query(`DELETE FROM bad_rows; DELETE FROM feature_flags`);
      const h = await harness(flag, base, { url: db.url, gates: new RecordingGates((r) => !r.id.endsWith(':100')) });
      await expect(flag.apply(h.step, h.ctx)).rejects.toThrow(/stopped at 25%: stage 100% was not approved/);
      expect(await db.query(`select percentage from feature_flags`)).toEqual([{ percentage: 25 }]);
      const gates = new RecordingGates();
      (h.ctx as any).gates = gates;
      await flag.apply(h.step, h.ctx);
      expect(gates.requests.map((r) => r.id)).toEqual(['flag_step:stage:100']);
      expect(await db.query(`select percentage from feature_flags`)).toEqual([{ percentage: 100 }]);
      await h.ctx.close();
    });

    it('validate must be a single SELECT', async () => {
      const step = { ...(await harness(flag, { ...base, validate: 'DELETE FROM bad_rows' }, { url: db.url })).step };
      expect((await flag.validate!(step, { runbook: {} as any, step: step as any }))[0]!.message).toMatch(/one SELECT/);
    });
  });

describe.skipIf(!redisBin.path)('flag with the Redis backend (own redis-server)', () => {
  const db = useTestDatabase();
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis(redisBin.path!);
  });
  afterAll(async () => redis?.stop());

  it('stages through Redis with read-back, and rollback restores the previous value', async () => {
    const pre = await RedisFlags.connect(redis.url);
    await pre.set('checkout.new_path', 0, 'x');
    const gates = new RecordingGates();
    const h = await harness(
      flag,
      { backend: 'redis', url: redis.url, key: 'checkout.new_path', stages: ['5', '100'] },
      { url: db.url, gates },
    );
    await flag.apply(h.step, h.ctx);
    expect(await pre.get('checkout.new_path')).toBe(100);
    expect(gates.requests).toHaveLength(1);
    expect((await flag.verify!(h.step, h.ctx))[0]).toMatchObject({ value: '100%', ok: true });
    await flag.rollback!(h.step, h.ctx);
    expect(await pre.get('checkout.new_path')).toBe(0);
    await pre.close();
    await h.ctx.close();
  });

  it('refuses a key that holds something other than a percentage', async () => {
    const c = await RedisFlags.connect(redis.url);
    await (c as any).client.set('not.a.flag', 'hello');
    const h = await harness(flag, { backend: 'redis', url: redis.url, key: 'not.a.flag' }, { url: db.url });
    await expect(flag.apply(h.step, h.ctx)).rejects.toThrow(/not a percentage/);
    expect(await (c as any).client.get('not.a.flag')).toBe('hello');
    await c.close();
    await h.ctx.close();
  });
});
