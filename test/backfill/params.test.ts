// Step keys: defaults, strings from variable rendering, and re-parsing parsed params.
import { describe, expect, it } from 'vitest';
import { backfillSchema, resolveConfig, parseBytes } from '../../src/backfill/params.js';
import { checkFragments } from '../../src/backfill/backfill-fragments.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem } from '../../src/runbook/model.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

describe('backfill params', () => {
  it('fills defaults: auto-tuned size, 100 ms target, no pause, probes on', () => {
    const c = resolveConfig({ table: 'orders', set: 'a = 1' });
    expect(c).toMatchObject({
      fixedBatchSize: undefined,
      initialBatchSize: 1000,
      targetBatchMs: 100,
      pauseMs: 0,
      lockTimeoutMs: 50,
      minThroughput: 0.1,
    });
    expect(c.throttle).toMatchObject({
      enabled: true,
      replicationLagBytes: 256 * 1024 ** 2,
      replicationLagMs: 5000,
      blockedSessions: 1,
      batchTimeFactor: 3,
    });
  });

  it('accepts rendered strings and re-parses its own output unchanged', () => {
    const raw = {
      table: 'app.orders',
      set: 'a = 1',
      batch_size: '2000',
      target_batch_time: '150ms',
      pause: '1s',
      min_throughput: '0.2',
      throttle: { replication_lag_bytes: '64MB', replication_lag: '2s', blocked_sessions: '0' },
    };
    const once = backfillSchema.parse(raw);
    expect(backfillSchema.parse(once)).toEqual(once);
    const c = resolveConfig(once);
    expect(c).toMatchObject({ fixedBatchSize: 2000, initialBatchSize: 2000, targetBatchMs: 150, pauseMs: 1000, minThroughput: 0.2 });
    expect(c.throttle).toMatchObject({ replicationLagBytes: 64 * 1024 ** 2, replicationLagMs: 2000, blockedSessions: 0 });
    expect(resolveConfig({ table: 't', set: 'a = 1', throttle: false }).throttle.enabled).toBe(false);
  });

  it('rejects unknown keys and bad values with the field named', () => {
    expect(backfillSchema.safeParse({ table: 't', set: 'a = 1', batchsize: 10 }).success).toBe(false);
    const bad = backfillSchema.safeParse({ table: 't', set: 'a = 1', target_batch_time: 'soon' });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/target_batch_time/);
    expect(backfillSchema.safeParse({ table: 't', set: 'a = 1', min_throughput: 2 }).success).toBe(false);
    expect(parseBytes('1.5GB')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('12 parsecs')).toBeUndefined();
  });
});

describe('workers', () => {
  it('defaults to auto, takes 1, 2 (also as rendered strings) and auto', () => {
    expect(resolveConfig({ table: 't', set: 'a = 1' }).workers).toBe('auto');
    expect(resolveConfig({ table: 't', set: 'a = 1', workers: 1 }).workers).toBe(1);
    expect(resolveConfig({ table: 't', set: 'a = 1', workers: '2' }).workers).toBe(2);
    expect(resolveConfig({ table: 't', set: 'a = 1', workers: 'auto' }).workers).toBe('auto');
  });

  it('rejects any other value at FILE:LINE:COL of the key', async () => {
    for (const bad of ['3', '0', 'many', 'true']) {
      const text = `version: 1\nname: x\nphases:\n  deploy:\n    - id: a\n      backfill:\n        table: t\n        set: a = 1\n        workers: ${bad}\n`;
      const { problems } = await loadRunbookText(text, 'w.yaml', { kinds: STEP_KINDS });
      const errors = problems.filter((p) => p.severity === 'error').map(formatProblem);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^w\.yaml:9:18: .*workers is 1, 2 or auto/);
    }
  });
});

describe('set / where fragments', () => {
  it('accepts assignments and one condition', async () => {
    expect(await checkFragments('a = 1, (b, c) = (2, 3)', 'a IS NULL AND (b > 1 OR c < 2) -- note')).toEqual([]);
  });
  it('refuses fragments that would change the statement around them', async () => {
    const cases: [string, string | undefined, RegExp][] = [
      ['a = 1; DROP TABLE t', undefined, /more than one statement/],
      ['a = 1 FROM other', undefined, /assignments only/],
      ['a = 1 WHERE false', undefined, /assignments only/],
      ['a = 1', 'x) OR (true', /not valid SQL/],
      ['a = 1', 'a, b', /one boolean condition/],
      ['a = 1', 'true UNION SELECT false', /one boolean condition/],
      ['a = 1', 'x FROM y', /one boolean condition/],
    ];
    for (const [set, where, re] of cases) {
      const problems = await checkFragments(set, where);
      expect(problems.map((p) => p.message).join(' | ')).toMatch(re);
    }
  });
});
