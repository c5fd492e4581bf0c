// The journal with a fake database that refuses N writes, on the injected clock: nothing is
// dropped or reordered, trouble and recovery are reported once each, flush gives up on time.
import { describe, expect, it } from 'vitest';
import { Journal, type JournalDb } from '../../src/engine/journal.js';
import { FakeClock } from '../../src/util/clock.js';
import type { RunEvent } from '../../src/engine/events.js';

class FlakyDb implements JournalDb {
  rows: number[] = [];
  tries = 0;
  constructor(private failuresLeft: number) {}
  async query(_sql: string, params: unknown[]): Promise<unknown> {
    this.tries++;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('permission denied for table events');
    }
    this.rows.push(params[1] as number);
    return {};
  }
}

const who = { user: 'ops', host: 'box', pid: 1 };
const event = (seq: number): RunEvent =>
  ({ type: 'step.log', stepId: 's', level: 'info', message: `m${seq}`, seq, at: new Date(0).toISOString(), runId: 'r' }) as RunEvent;

/** Lets pending promise callbacks run (the fake db answers asynchronously). */
const settle = () => new Promise((r) => setImmediate(r));

async function advanceUntil(clock: FakeClock, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) {
    await settle();
    clock.advance(250);
  }
}

describe('journal', () => {
  it('retries failed writes in order and reports the outage and the recovery once each', async () => {
    const clock = new FakeClock();
    const db = new FlakyDb(4);
    const reports: string[] = [];
    const j = new Journal(db, undefined, who, { clock, report: (level, m) => reports.push(`${level}: ${m}`) });
    for (const s of [1, 2, 3]) j.listener(event(s));
    const flushed = j.flush();
    await advanceUntil(clock, () => db.rows.length === 3);
    expect(await flushed).toBeUndefined();
    expect(db.rows).toEqual([1, 2, 3]);
    expect(db.tries).toBe(7); // 4 refusals of the first event, then one write each
    expect(reports).toEqual([
      expect.stringMatching(
        /^warn: could not write the journal to pgrunbook.events \(permission denied for table events\); the run goes on/,
      ),
      'info: the journal is writable again after 4 failed tries; no event was lost',
    ]);
  });

  it('backs off between retries on the injected clock instead of spinning', async () => {
    const clock = new FakeClock();
    const db = new FlakyDb(100);
    const j = new Journal(db, undefined, who, { clock });
    j.listener(event(1));
    await settle();
    expect(db.tries).toBe(1);
    expect(clock.pendingSleeps).toBe(1);
    clock.advance(249);
    await settle();
    expect(db.tries).toBe(1); // the first backoff is 250 ms
    clock.advance(1);
    await settle();
    expect(db.tries).toBe(2);
    j.close();
  });

  it('a flush that runs out of time returns the backlog and its cause instead of throwing', async () => {
    const clock = new FakeClock();
    const db = new FlakyDb(1_000);
    const j = new Journal(db, undefined, who, { clock });
    for (const s of [1, 2]) j.listener(event(s));
    const flushed = j.flush(1_000);
    await advanceUntil(clock, () => clock.now() > 1_700_000_002_000);
    expect(await flushed).toEqual({ pending: 2, error: 'permission denied for table events' });
    j.close();
    const tries = db.tries;
    clock.advance(60_000);
    await settle();
    expect(db.tries).toBe(tries); // closed: no more retries
    expect(db.rows).toEqual([]);
  });
});
