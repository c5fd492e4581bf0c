// The run lock with a fake server: one holder per runbook and database, a second is refused and
// told who holds it (from pgrunbook.runs when it exists, else from the session), and it is free
// again once the holder releases it or its connection dies.
import { describe, expect, it } from 'vitest';
import { findLockHolder, lockHeldError, releaseRunLock, tryAcquireRunLock } from '../../src/engine/run-lock.js';
import { RunLockHeldError } from '../../src/util/runbook-error.js';
import { FakeServer } from './support/fake-pg.js';

describe('run lock', () => {
  it('refuses a second holder of the same runbook and names the first', async () => {
    const server = new FakeServer();
    const first = server.session();
    const second = server.session('10.0.0.9');
    expect(await tryAcquireRunLock(first, 'add_amount')).toBe(true);
    server.runs.push({
      run_id: '20261206-101500-abc123',
      runbook_name: 'add_amount',
      backend_pid: first.processID,
      status: 'running',
      os_user: 'ana',
      host: 'ops-1',
      pid: 4242,
      started_at: '2026-12-06 10:15:00 UTC',
    });
    expect(await tryAcquireRunLock(second, 'add_amount')).toBe(false);
    // Another runbook is not held up by it.
    expect(await tryAcquireRunLock(second, 'other_change')).toBe(true);

    const holder = await findLockHolder(second, 'add_amount');
    expect(holder).toEqual({
      backendPid: first.processID,
      runId: '20261206-101500-abc123',
      user: 'ana',
      host: 'ops-1',
      pid: 4242,
      startedAt: '2026-12-06 10:15:00 UTC',
      clientAddr: '10.0.0.5',
    });
    const err = lockHeldError('add_amount', holder);
    expect(err).toBeInstanceOf(RunLockHeldError);
    expect(err.message).toBe(
      `runbook "add_amount" is already running on this database, held by ana@ops-1 (pid 4242, backend pid ${first.processID}, ` +
        `started 2026-12-06 10:15:00 UTC, run 20261206-101500-abc123). Wait for it, or if that session is gone for good end it ` +
        `(SELECT pg_terminate_backend(${first.processID})), then \`pgrunbook resume\`.`,
    );
  });

  it('is free again after the holder releases it, and a release by another session frees nothing', async () => {
    const server = new FakeServer();
    const first = server.session();
    const second = server.session();
    await tryAcquireRunLock(first, 'rb');
    await releaseRunLock(second, 'rb');
    expect(await tryAcquireRunLock(second, 'rb')).toBe(false);
    await releaseRunLock(first, 'rb');
    expect(await tryAcquireRunLock(second, 'rb')).toBe(true);
    expect(await findLockHolder(first, 'rb')).toMatchObject({ backendPid: second.processID });
  });

  it('goes with a dead connection, so nobody is left waiting for a holder that is gone', async () => {
    const server = new FakeServer();
    const first = server.session();
    await tryAcquireRunLock(first, 'rb');
    first.die();
    expect(await findLockHolder(server.session(), 'rb')).toBeNull();
    expect(await tryAcquireRunLock(server.session(), 'rb')).toBe(true);
  });

  it('names the holder by its session when the runs table does not exist yet', async () => {
    const server = new FakeServer();
    const first = server.session('192.0.2.7');
    await tryAcquireRunLock(first, 'rb');
    server.noSchema = true;
    const holder = await findLockHolder(server.session(), 'rb');
    expect(holder).toMatchObject({ backendPid: first.processID, runId: null, user: null, clientAddr: '192.0.2.7' });
    expect(lockHeldError('rb', holder).message).toContain(`held by unknown user@192.0.2.7 (pid ?, backend pid ${first.processID})`);
  });

  it('with no holder to be found, says "another session" and how to find and end it', async () => {
    expect(await findLockHolder(new FakeServer().session(), 'rb')).toBeNull();
    const msg = lockHeldError('rb', null).message;
    expect(msg).toContain('held by another session');
    expect(msg).toContain('pg_terminate_backend(pid)');
  });

  it('passes a failing query on instead of reporting the lock as free or held', async () => {
    const s = new FakeServer().session();
    s.failNext = { times: 1, error: new Error('permission denied for function pg_try_advisory_lock') };
    await expect(tryAcquireRunLock(s, 'rb')).rejects.toThrow('permission denied for function pg_try_advisory_lock');
    s.failNext = { times: 1, error: new Error('canceling statement due to statement timeout') };
    await expect(findLockHolder(s, 'rb')).rejects.toThrow('statement timeout');
  });
});
