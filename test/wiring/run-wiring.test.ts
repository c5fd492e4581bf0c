// The one run wiring as `run`/`resume` (cli/execute.ts) and `demo` (demo/run-demo.ts) configure it:
// the cancel pool's session really has its statement_timeout on a real server, a cancel error that
// carries a password reads the same through both, and intents before the run starts stop or say so.
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/engine/events.js';
import { runWiring } from '../../src/cli/execute.js';
import { demoWiring } from '../../src/demo/run-demo.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { registerSecret } from '../../src/util/secrets.js';
import { createUiStore } from '../../src/ui/store.js';
import type { RunWiring, WiringSeams } from '../../src/wiring/run-wiring.js';
import { useTestDatabase } from '../support/pg.js';
import { waitFor } from '../ui/support/harness.js';

/** A runner as the front-end sees it, recording what it was asked. */
class FakeRunner {
  readonly bus = new EventBus('r1');
  readonly calls: string[] = [];
  paused = false;
  pause = () => this.calls.push('pause');
  unpause = () => this.calls.push('unpause');
  setBatchSize = (n: number) => this.calls.push(`batch ${n}`);
  setPauseMs = (ms: number) => this.calls.push(`pauseMs ${ms}`);
  abort = (reason: string) => this.calls.push(`abort: ${reason}`);
  interrupt = (reason: string) => this.calls.push(`interrupt: ${reason}`);
}

type Cancel = WiringSeams['cancelStatement'];
type Path = { name: string; open(cancel?: Cancel): RunWiring; stops: string[] };

/** Each host's own wiring (runWiring, demoWiring), with the cancel call replaced where a test says. */
function paths(): Path[] {
  const demoStops: string[] = [];
  const store = () => createUiStore();
  return [
    { name: 'run', stops: [], open: (cancelStatement) => runWiring({ mode: 'plain' }, { cancelStatement }) },
    {
      name: 'demo',
      stops: demoStops,
      open: (cancelStatement) =>
        demoWiring({ mode: 'plain', monitorIntervalMs: 200 }, store(), { request: (r) => demoStops.push(r) }, { cancelStatement }),
    },
  ];
}

describe('the run wiring of run and demo', () => {
  const db = useTestDatabase();
  const open: RunWiring[] = [];
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close();
  });

  it.each(paths().map((p) => [p.name, p] as const))(
    '%s: the cancel key runs on a pgrunbook:ui session whose statement_timeout is 2s',
    async (_name, path) => {
      // The real cancel query on that session: SHOW and pg_stat_activity say what it runs with.
      const w = path.open(async (session, pid) => {
        const [t] = (await session.query(`show statement_timeout`)).rows;
        const [a] = (await session.query(`select application_name from pg_stat_activity where pid = pg_backend_pid()`)).rows;
        return { pid, cancelled: false, message: `${t.statement_timeout} ${a.application_name}` };
      });
      open.push(w);
      await w.attach(new FakeRunner(), { connection: resolveConnection(db.url) });
      w.intents.cancelOwnStatement(12345);
      await waitFor(() => w.store.getState().notice !== undefined, 'the cancel notice', 15_000);
      expect(w.store.getState().notice).toBe('2s pgrunbook:ui');
    },
  );

  it.each(paths().map((p) => [p.name, p] as const))('%s: a cancel that hangs on the server ends at the timeout', async (_name, path) => {
    const w = path.open(async (session, pid) => {
      await session.query(`select pg_sleep(30)`);
      return { pid, cancelled: false, message: 'the sleep was not cut short' };
    });
    open.push(w);
    await w.attach(new FakeRunner(), { connection: resolveConnection(db.url) });
    w.intents.cancelOwnStatement(12345);
    await waitFor(() => w.store.getState().notice !== undefined, 'the cancel notice', 20_000);
    expect(w.store.getState().notice).toBe('cancel failed: canceling statement due to statement timeout');
  });

  it('a cancel error carrying a password is redacted the same way through run and demo', async () => {
    registerSecret('s3cr3t-Pw');
    const notices: string[] = [];
    for (const path of paths()) {
      const w = path.open(async () => {
        throw new Error('could not reach postgres://ops:hunter2@db.internal/prod (password=hunter2 and token s3cr3t-Pw)');
      });
      open.push(w);
      await w.attach(new FakeRunner(), { connection: resolveConnection(db.url) });
      w.intents.cancelOwnStatement(12345);
      await waitFor(() => w.store.getState().notice !== undefined, 'the cancel notice', 5_000);
      notices.push(w.store.getState().notice!);
    }
    expect(notices[0]).toBe('cancel failed: could not reach postgres://ops:***@db.internal/prod (password=*** and token ***)');
    expect(notices[1]).toBe(notices[0]);
  });

  it('before a runner is attached, keys say so; abort and quit stop the host', async () => {
    const [run, demo] = paths();
    const w = demo!.open();
    open.push(w);
    w.intents.togglePause();
    expect(w.store.getState().notice).toBe('the runbook has not started yet');
    w.intents.abort();
    w.intents.quit();
    expect(demo!.stops).toEqual(['aborted by the operator', 'the operator quit']);
    // run: nothing to stop yet, and nothing breaks.
    const r = run!.open();
    open.push(r);
    expect(() => r.intents.quit()).not.toThrow();
  });

  it('once attached, intents reach the runner; q interrupts it, and the demo stops with it', async () => {
    const [run, demo] = paths();
    const calls: Record<string, string[]> = {};
    for (const path of [run!, demo!]) {
      const w = path.open();
      open.push(w);
      const runner = new FakeRunner();
      await w.attach(runner, { connection: resolveConnection(db.url) });
      w.intents.togglePause();
      w.intents.setBatchSize(500);
      w.intents.quit();
      calls[path.name] = runner.calls;
    }
    expect(calls.run).toEqual(['pause', 'batch 500', 'interrupt: the operator quit']);
    expect(calls.demo).toEqual(calls.run);
    expect(demo!.stops).toEqual(['the operator quit']);
  });

  it('journals panel metrics only where a monitor feeds them', async () => {
    const [run, demo] = paths();
    const r = run!.open();
    const d = demo!.open();
    open.push(r, d);
    await r.attach(new FakeRunner(), { connection: resolveConnection(db.url) });
    await d.attach(new FakeRunner(), { connection: resolveConnection(db.url), relations: [] });
    await waitFor(() => d.store.getState().sample !== undefined, 'a monitor sample', 15_000);
    expect(r.metrics()).toBeUndefined();
    expect(d.metrics()).toHaveProperty('connections');
  });
});
