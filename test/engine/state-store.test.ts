// The state store with a fake database: each transition writes the row it should (status, attempt,
// result, error), reads map missing rows to undefined, and a refused write surfaces as an error.
import { describe, expect, it } from 'vitest';
import * as store from '../../src/engine/state-store.js';
import { FakeServer, type FakeSession } from './support/fake-pg.js';

function db(answer?: (sql: string, params: unknown[]) => unknown[] | undefined): FakeSession {
  const s = new FakeServer().session();
  if (answer) s.answers.push(answer);
  return s;
}

const last = (s: FakeSession) => s.queries[s.queries.length - 1]!;

describe('state store', () => {
  it('records a new run as running, with its variables as JSON and who runs it', async () => {
    const s = db();
    await store.insertRun(s, {
      run_id: 'r1',
      runbook_name: 'add_amount',
      runbook_file: 'add.yaml',
      runbook_sha256: 'abc',
      runbook_source: 'version: 1',
      vars: { table: 'orders', password: { from_env: 'PW', secret: true } },
      phases: ['deploy'],
      os_user: 'ana',
      host: 'ops-1',
      pid: 42,
      backend_pid: 101,
    });
    const q = last(s);
    expect(q.sql).toMatch(/INSERT INTO pgrunbook\.runs .*'running'/s);
    expect(q.params).toEqual([
      'r1',
      'add_amount',
      'add.yaml',
      'abc',
      'version: 1',
      '{"table":"orders","password":{"from_env":"PW","secret":true}}',
      ['deploy'],
      'ana',
      'ops-1',
      42,
      101,
    ]);
  });

  it('starts a step as running and returns the attempt the database counted', async () => {
    const s = db((sql) => (/RETURNING attempt/.test(sql) ? [{ attempt: 3 }] : undefined));
    expect(await store.markStepRunning(s, 'r1', 'deploy', 'add', 'add_column')).toBe(3);
    expect(last(s).sql).toMatch(
      /ON CONFLICT \(run_id, phase, step_id\) DO UPDATE\s+SET status = 'running', attempt = pgrunbook\.step_states\.attempt \+ 1/,
    );
    expect(last(s).params).toEqual(['r1', 'deploy', 'add', 'add_column']);
  });

  it('ends a step: a result is stored as JSON, a failure keeps the earlier result and records the error', async () => {
    const s = db();
    await store.markStep(s, 'r1', 'deploy', 'add', 'completed', { result: { rows: 10 } });
    expect(last(s).params).toEqual(['r1', 'deploy', 'add', 'completed', '{"rows":10}', null]);
    await store.markStep(s, 'r1', 'deploy', 'add', 'failed', { error: 'lock timeout' });
    expect(last(s).params).toEqual(['r1', 'deploy', 'add', 'failed', null, 'lock timeout']);
    expect(last(s).sql).toMatch(/result = COALESCE\(\$5, result\)/);
  });

  it('ends a run with its status, and an error only when there was one', async () => {
    const s = db();
    await store.finishRun(s, 'r1', 'completed');
    expect(last(s).params).toEqual(['r1', 'completed', null]);
    await store.finishRun(s, 'r1', 'interrupted', 'terminal hung up (SIGHUP)');
    expect(last(s).params).toEqual(['r1', 'interrupted', 'terminal hung up (SIGHUP)']);
  });

  it('keeps a step state as JSON and reads a missing or empty one as undefined', async () => {
    const s = db((sql) => (/SELECT state FROM/.test(sql) ? [{ state: null }] : undefined));
    await store.setStepState(s, 'r1', 'deploy', 'fill', 'backfill', { cursor: 500 });
    expect(last(s).params).toEqual(['r1', 'deploy', 'fill', 'backfill', '{"cursor":500}']);
    expect(await store.getStepState(s, 'r1', 'deploy', 'fill')).toBeUndefined();
    expect(await store.getRun(db(), 'nope')).toBeUndefined();
  });

  it('numbers a resumed run on from its last event, from 0 when it has none', async () => {
    expect(
      await store.lastEventSeq(
        db((sql) => (/max\(seq\)/.test(sql) ? [{ m: null }] : undefined)),
        'r1',
      ),
    ).toBe(0);
    expect(
      await store.lastEventSeq(
        db((sql) => (/max\(seq\)/.test(sql) ? [{ m: 17 }] : undefined)),
        'r1',
      ),
    ).toBe(17);
    expect(await store.lastEventAt(db(), 'r1')).toBeNull();
  });

  it('passes a refused write on to the caller', async () => {
    const s = db();
    s.failNext = { times: 1, error: new Error('permission denied for table step_states') };
    await expect(store.markStep(s, 'r1', 'deploy', 'add', 'completed')).rejects.toThrow('permission denied for table step_states');
  });
});
