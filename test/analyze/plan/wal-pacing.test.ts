// The WAL rules' pacing in plan's backfill and copy estimates: wal_rate holds the walk to its limit
// once it has reacted, checkpoint_pressure halves the duty after the checkpoint distance is used up.
// No database: the figures in, the wall time out.
import { describe, expect, it } from 'vitest';
import { walPacing, walPerKey } from '../../../src/analyze/plan/wal-pacing.js';

const MB = 1024 ** 2;
const rules = { walRateBytes: 50 * MB, checkpointPressureMs: 60_000, probeIntervalMs: 1000 };
const far = { maxWalBytes: 100 * 1024 * MB, completionTarget: 0.9, sinceRedoBytes: 0 };

describe('walPacing', () => {
  it('leaves a walk under the wal_rate limit and within the checkpoint distance as it is', () => {
    const p = walPacing(100 * MB, 5, rules, far);
    expect(p.seconds(5)).toBe(5);
    expect(p.note).toMatch(
      /^WAL: ~100 MB of WAL in all, 20\.0 MB\/s at the projected pace; under the wal_rate limit of 50\.0 MB\/s; within the/,
    );
    expect(p.note).not.toMatch(/WAL rules add/);
  });

  it('holds the WAL after the rule reacts (two probe intervals) to the wal_rate limit', () => {
    // 500 MB in 5 s is 100 MB/s: 2 s at full speed (200 MB), the other 300 MB at 50 MB/s (6 s).
    const p = walPacing(500 * MB, 5, rules, far);
    expect(p.seconds(5)).toBeCloseTo(8, 9);
    expect(p.note).toMatch(
      /over the wal_rate limit of 50\.0 MB\/s, so after ~2 s the throttle holds the batches to it; within .*; the WAL rules add ~3\.0 s$/,
    );
    // A walk over before the rule has two readings is not held.
    expect(p.seconds(1.5)).toBe(1.5);
  });

  it("never projects a duty under the rule's floor of 1/21, however far over the limit", () => {
    // 10 GB in 10 s is 1 GB/s, 20.48x the limit: above the floor, the duty is 1/20.48. 2 s at full
    // speed, the other 8 s of work at that duty.
    const p = walPacing(10 * 1024 * MB, 10, rules, far);
    expect(p.seconds(10)).toBeCloseTo(2 + 8 * 20.48, 6);
    // 100x the limit: 1/21, not 1/100.
    const far100 = walPacing(50 * 1024 * MB, 10, rules, far);
    expect(far100.seconds(10)).toBeCloseTo(2 + 8 * 21, 6);
  });

  it('runs the rest of the walk at half duty once a checkpoint is requested', () => {
    // 400 MB in 10 s (40 MB/s, under the limit); 100 MB left before a checkpoint: 2.5 s as is, 7.5 s at half duty.
    const gib = 1024 * MB;
    const near = { maxWalBytes: gib, completionTarget: 0.9, sinceRedoBytes: gib / 1.9 - 100 * MB };
    const p = walPacing(400 * MB, 10, rules, near);
    expect(p.seconds(10)).toBeCloseTo(2.5 + 15, 6);
    expect(p.note).toMatch(
      /a checkpoint is requested after ~100 MB \(max_wal_size 1\.00 GB \/ \(1 \+ checkpoint_completion_target 0\.9\), less 439 MB written since the last checkpoint\), and checkpoint_pressure then runs the batches at half duty; the WAL rules add ~7\.5 s$/,
    );
    // With wal_rate holding it to a quarter duty already, the checkpoint rule adds nothing.
    const both = walPacing(400 * MB, 1, { ...rules, probeIntervalMs: 0 }, near);
    expect(both.seconds(1)).toBeCloseTo(400 / 50, 6);
  });

  it('says when a rule is off or its figures could not be read, and counts only what it knows', () => {
    const off = walPacing(500 * MB, 5, { walRateBytes: 0, checkpointPressureMs: 0, probeIntervalMs: 1000 }, far);
    expect(off.seconds(5)).toBe(5);
    expect(off.note).toMatch(/wal_rate is off; checkpoint_pressure is off$/);
    const unread = walPacing(100 * MB, 5, rules, { error: 'permission denied for function pg_control_checkpoint' });
    expect(unread.seconds(5)).toBe(5);
    expect(unread.note).toMatch(
      /the checkpoint distance was not read \(permission denied for function pg_control_checkpoint\), so checkpoint_pressure is not counted/,
    );
  });
});

describe('new WAL segments', () => {
  const reuse = { ready: 5, segmentBytes: 16 * MB, initZero: true };

  it('says how many new segments a walk past the ready ones makes PostgreSQL zero-fill', () => {
    const p = walPacing(500 * MB, 50, rules, { ...far, walReuse: reuse });
    // 500 MB less 5 x 16 MB ready: 420 MB, 27 new segments (26.25 rounded up).
    expect(p.note).toMatch(
      /; pg_wal holds 5 segment\(s\) \(80\.0 MB\) ready for reuse, so about 27 new 16\.0 MB segment\(s\) get zero-filled \(wal_init_zero = on\) while commits wait, a short stall of the application each \(docs\/throttling\.md, New WAL segments: min_wal_size, wal_init_zero\)(;|$)/,
    );
  });

  it('says nothing when the ready segments hold the walk, new ones are not zero-filled, or pg_wal was not read', () => {
    expect(walPacing(60 * MB, 5, rules, { ...far, walReuse: reuse }).note).not.toMatch(/zero-filled/);
    expect(walPacing(500 * MB, 50, rules, { ...far, walReuse: { ...reuse, initZero: false } }).note).not.toMatch(/zero-filled/);
    expect(walPacing(500 * MB, 50, rules, far).note).not.toMatch(/zero-filled/);
  });
});

describe('walPerKey', () => {
  it('takes the median per key of the samples that carry a WAL figure', () => {
    const sample = (walBytes: (number | undefined)[]) => ({
      openMs: 0,
      partial: false,
      starts: 'spread' as const,
      samples: walBytes.map((w, i) => ({ keys: i % 2 ? 4000 : 1000, rows: 1, ms: 1, ...(w === undefined ? {} : { walBytes: w }) })),
    });
    // 100, 100, 900 (another writer meanwhile), 100 bytes per key.
    expect(walPerKey(sample([100_000, 400_000, 900_000, 400_000]))).toBe(100);
    expect(walPerKey(sample([undefined, undefined]))).toBeUndefined();
  });
});
