// The fleet's wiring on a real server: a target's panels are polled only while the fleet view shows
// it (its monitor starts when the view asks and stops when it leaves), and never after its run ended.
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/engine/events.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { FleetWiring } from '../../src/wiring/fleet-wiring.js';
import { useTestDatabase } from '../support/pg.js';
import { waitFor } from '../ui/support/harness.js';

class FakeRunner {
  readonly bus = new EventBus('r1');
  paused = false;
  pause = () => {};
  unpause = () => {};
  setBatchSize = () => {};
  setPauseMs = () => {};
  abort = () => {};
  interrupt = () => {};
}

/** Monitor sessions on the test database (application_name pgrunbook:monitor…). */
async function monitorSessions(db: ReturnType<typeof useTestDatabase>): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like 'pgrunbook:monitor%'`,
  );
  return rows[0]!.n;
}

describe('the fleet wiring', () => {
  const db = useTestDatabase();
  let wiring: FleetWiring | undefined;
  afterEach(async () => {
    await wiring?.close();
  });

  it("polls a target's panels only while the view shows it", async () => {
    wiring = new FleetWiring({ mode: 'ink', policy: { yes: true, allowIrreversible: false }, halt: () => {} });
    const target = wiring.target('t1');
    await wiring.attach('t1', target, new FakeRunner(), { connection: resolveConnection(db.url) });
    const run = wiring.store.getState().targets.t1!.run!;
    // Not shown: no sample, no monitor session.
    await new Promise((r) => setTimeout(r, 1500));
    expect(run.store.getState().sample).toBeUndefined();
    expect(await monitorSessions(db)).toBe(0);

    run.watch!(true);
    await waitFor(() => run.store.getState().sample !== undefined, 'a first sample', 20_000);
    expect(await monitorSessions(db)).toBeGreaterThan(0);

    run.watch!(false);
    let sessions = 1;
    for (let i = 0; i < 100 && sessions > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      sessions = await monitorSessions(db);
    }
    expect(sessions).toBe(0);

    // After the run ended (released), showing it starts nothing.
    await wiring.release('t1');
    run.watch!(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await monitorSessions(db)).toBe(0);
  }, 60_000);
});
