// The intents go through the runner: the UI never emits on the bus; the runner's own events
// (run.paused / run.unpaused) are what every listener, this UI included, sees.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { Runner } from '../../src/engine/runner.js';
import type { RunEvent } from '../../src/engine/events.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { App } from '../../src/ui/app.js';
import { runIntents } from '../../src/ui/intents.js';
import { createUiStore } from '../../src/ui/store.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { renderAt, waitFor, waitForFrame, withProviders } from './support/harness.js';
import { emitRunStart } from './support/events.js';

afterEach(() => cleanup());

/** A runner that is never started: no connection is opened, so the factory refuses if asked. */
function idleRunner(): Runner {
  const refuse = () => {
    throw new Error('this test never connects');
  };
  return new Runner({
    runbook: { version: 1, name: 'Demo', phases: {} } as never,
    connection: resolveConnection('postgres://t@127.0.0.1:1/t'),
    gates: new PolicyGates({ yes: false, allowIrreversible: false, user: 't' }),
    nonInteractive: false,
    journalDir: null,
    kinds: new Map(),
    connect: { client: refuse, pool: refuse },
  });
}

function wired() {
  const runner = idleRunner();
  const events: RunEvent[] = [];
  runner.bus.on((e) => events.push(e));
  const decided: string[] = [];
  const intents = runIntents({ runner, decide: (id) => (decided.push(id), true) });
  return { runner, events, intents, decided };
}

describe('runIntents onto the runner', () => {
  it('pause and unpause are the runner’s: it sets its control and emits the event once each', () => {
    const { runner, events, intents } = wired();
    intents.togglePause();
    expect(runner.control.paused).toBe(true);
    intents.togglePause();
    expect(runner.control.paused).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['run.paused', 'run.unpaused']);
    expect(events[0]).toMatchObject({ reason: 'paused by the operator' });
  });

  it('a pause that is already in place emits nothing more', () => {
    const { runner, events, intents } = wired();
    runner.pause();
    runner.pause();
    intents.togglePause();
    intents.togglePause();
    expect(events.map((e) => e.type)).toEqual(['run.paused', 'run.unpaused', 'run.paused']);
  });

  it('batch size and pause between batches reach the runner’s control (rounded, never below the floor)', () => {
    const { runner, intents } = wired();
    intents.setBatchSize(7500.4);
    intents.setPauseMs(-5);
    expect(runner.control.batchSize).toBe(7500);
    expect(runner.control.pauseMs).toBe(0);
    intents.setBatchSize(0);
    expect(runner.control.batchSize).toBe(1);
  });

  it('abort and quit stop the runner (aborted vs resumable), and gate answers go to the port', () => {
    const a = wired();
    a.intents.abort();
    expect(a.runner.signal.aborted).toBe(true);
    expect((a.runner.signal.reason as Error).message).toContain('aborted by the operator');
    const q = wired();
    q.intents.quit();
    // The reason alone: the log line for run.interrupted says how to resume, once.
    expect((q.runner.signal.reason as Error).message).toBe('the operator quit');
    q.intents.decideGate('g1', { approved: true });
    expect(q.decided).toEqual(['g1']);
    expect(q.events).toEqual([]);
  });
});

describe('p in the Ink UI', () => {
  it('pauses through the runner, and the header follows the runner’s event', async () => {
    const { runner, events, intents } = wired();
    const store = createUiStore();
    runner.bus.on((e) => store.getState().dispatch(e));
    emitRunStart((e) => runner.bus.emit(e));
    const inst = renderAt(withProviders(store, intents, <App />), { columns: 100, rows: 30 });
    await waitForFrame(inst, (f) => f.includes('RUNNING'), 'run screen');
    const before = events.length;
    inst.stdin.write('p');
    await waitForFrame(inst, (f) => f.includes('PAUSED'), 'paused badge');
    expect(runner.control.paused).toBe(true);
    expect(events.slice(before).map((e) => e.type)).toEqual(['run.paused']);
    inst.stdin.write('p');
    await waitFor(() => !runner.control.paused, 'unpaused');
    await waitForFrame(inst, (f) => f.includes('RUNNING'), 'running again');
    expect(events.slice(before).map((e) => e.type)).toEqual(['run.paused', 'run.unpaused']);
  });
});
