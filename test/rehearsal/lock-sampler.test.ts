// The lock sampler's step-boundary marks: a step's end and the next step's start arrive together,
// and both must be answered without two queries in flight on one client (pg 8.16+ warns, and the CI
// test of `rehearse --json` asserts an empty stderr).
import { describe, expect, it } from 'vitest';
import { LockSampler } from '../../src/rehearsal/lock-sampler.js';
import { useTestDatabase } from '../support/pg.js';

describe('LockSampler.mark', () => {
  const db = useTestDatabase();

  it('answers marks fired together, one query at a time, in order', async () => {
    await db.query('create table marked (id int primary key)');
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on('warning', onWarning);
    const sampler = new LockSampler(db.url, { appPrefix: 'pgrunbook-test', tables: ['public.marked'], intervalMs: 1000 });
    try {
      await sampler.start();
      // Three at once (a skipped step ends as soon as it starts): pg warns from the third queued query.
      sampler.mark('a:start');
      sampler.mark('a:end');
      sampler.mark('b:start');
      await sampler.marks.get('b:start');
      await db.query('insert into marked select generate_series(1, 1000)');
      sampler.mark('b:end');
      const [aEnd, bStart, bEnd] = await Promise.all(['a:end', 'b:start', 'b:end'].map((k) => sampler.marks.get(k)));
      expect(aEnd?.lsn).toBeTypeOf('bigint');
      expect(bStart!.lsn).toBeGreaterThanOrEqual(aEnd!.lsn);
      // The insert's WAL lies between b's start and end.
      expect(bEnd!.lsn).toBeGreaterThan(bStart!.lsn);
      expect(Object.keys(bEnd!.files).length).toBeGreaterThan(0);
    } finally {
      await sampler.stop();
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.includes('already executing a query'))).toEqual([]);
  });
});
