// The run lock's session for the whole run. When its connection dies PostgreSQL releases the lock;
// the keeper reconnects and takes it again, but only when nobody else took it meanwhile and the
// run's row still names the lost session (nobody resumed the run), so there is still one operator.
// Otherwise, or when the server cannot be reached for RELOCK_WITHIN_MS, the run must stop.
import type pg from 'pg';
import { sqlText } from '../pg/sql-files.js';
import type { Clock } from '../util/clock.js';
import { findLockHolder, lockHeldError, releaseRunLock, tryAcquireRunLock } from './run-lock.js';

/** How long the keeper tries to reconnect before the run stops (then `resume`). */
export const RELOCK_WITHIN_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
const BACKOFF_MS = [250, 500, 1_000, 2_000, 4_000];

export interface RunLockKeeperDeps {
  runbookName: string;
  runId: string;
  /** The lock session's application_name (to recognise an orphan of this run's own). */
  applicationName: string;
  /** A new, unconnected session for the lock. */
  open(): pg.Client;
  clock: Clock;
  log(level: 'info' | 'warn', message: string): void;
  /** The lock is gone for good: the run must stop, for this reason. */
  lost(reason: string): void;
}

export class RunLockKeeper {
  client: pg.Client;
  private held = false;
  private closed = false;
  private retaking?: Promise<void>;

  constructor(private readonly d: RunLockKeeperDeps) {
    this.client = this.fresh();
  }

  get backendPid(): number {
    return (this.client as unknown as { processID: number }).processID;
  }

  /** Takes the lock without waiting; false when another session holds it. */
  async take(): Promise<boolean> {
    this.held = await tryAcquireRunLock(this.client, this.d.runbookName);
    return this.held;
  }

  /** Resolves once the lock is held again (at once unless it is being taken again). */
  ready(): Promise<void> {
    return this.retaking ?? Promise.resolve();
  }

  async release(): Promise<void> {
    this.closed = true;
    await this.retaking;
    if (this.held) await releaseRunLock(this.client, this.d.runbookName).catch(() => {});
    await this.client.end().catch(() => {});
  }

  private fresh(): pg.Client {
    const c = this.d.open();
    c.on('error', (err: Error) => this.onError(c, err));
    return c;
  }

  private onError(c: pg.Client, err: Error): void {
    if (c !== this.client || !this.held || this.closed || this.retaking) return;
    this.held = false;
    const lostPid = this.backendPid;
    this.retaking = this.retake(err, lostPid).finally(() => {
      this.retaking = undefined;
    });
  }

  private async retake(cause: Error, lostPid: number): Promise<void> {
    const { clock } = this.d;
    const t0 = clock.now();
    this.d.log('warn', `lost the connection that holds the run lock (${cause.message}); reconnecting to take it again`);
    let last: Error = cause;
    for (let i = 0; clock.now() - t0 < RELOCK_WITHIN_MS && !this.closed; i++) {
      const c = this.fresh();
      try {
        await this.connect(c);
        this.client = c;
        return await this.claim(lostPid, t0);
      } catch (err) {
        last = err as Error;
        discard(c);
        await clock.sleep(BACKOFF_MS[Math.min(i, BACKOFF_MS.length - 1)]!);
      }
    }
    if (!this.closed) {
      this.d.lost(
        `lost the connection that holds the run lock, and the server could not be reached for ${RELOCK_WITHIN_MS / 1000} s to take it again (${last.message}); the run stopped and starts nothing more. Check the network path to the server, then run \`pgrunbook resume ${this.d.runId}\`: it reconciles the interrupted step and goes on, applying nothing twice`,
      );
    }
  }

  private async connect(c: pg.Client): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    });
    try {
      await Promise.race([c.connect(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The lock may still be held by the lost session itself: when packets were dropped the server
   * cannot tell that the client is gone. That session, and only that one, is ended; then the lock
   * is taken (true), or left to whoever holds it (false).
   */
  private async endOrphan(lostPid: number): Promise<boolean> {
    const holder = await findLockHolder(this.client, this.d.runbookName);
    if (holder?.backendPid !== lostPid) return false;
    const r = await this.client.query(sqlText('engine/sql', 'run-lock-end-orphan'), [lostPid, this.d.applicationName]);
    if (!r.rows[0]?.ended) return false;
    this.d.log(
      'warn',
      `the lost run-lock session (backend pid ${lostPid}) was still open on the server, which cannot tell the client is gone: ended it`,
    );
    for (let i = 0; i < 20; i++) {
      if (await this.take()) return true;
      await this.d.clock.sleep(250);
    }
    return false;
  }

  /** On the new session: the lock if free, then the run's row if still ours; else the run stops. */
  private async claim(lostPid: number, t0: number): Promise<void> {
    const { runbookName, runId, clock } = this.d;
    if (!(await this.take()) && !(await this.endOrphan(lostPid))) {
      const holder = await findLockHolder(this.client, runbookName);
      this.d.lost(`lost the connection that holds the run lock, and meanwhile ${lockHeldError(runbookName, holder).message}`);
      return;
    }
    const since = (clock.now() - t0) / 1000 + 5;
    const r = await this.client.query(sqlText('engine/sql', 'run-lock-reclaim'), [runId, lostPid, this.backendPid, since]);
    if (!r.rows.length) {
      await releaseRunLock(this.client, runbookName).catch(() => {});
      this.held = false;
      this.d.lost(
        `lost the connection that holds the run lock, and meanwhile run ${runId} was taken up by another session or another run of "${runbookName}" was recorded; see \`pgrunbook status\``,
      );
      return;
    }
    this.d.log('info', `took the run lock again after ${((clock.now() - t0) / 1000).toFixed(1)} s on a new connection; the run goes on`);
  }
}

/**
 * Closes a session whose connect failed or timed out without waiting for it: over a link that drops
 * every packet, `end()` on a half-open connection never resolves and would hold the keeper past its
 * bound (seen in test/e2e/packet-drop-outage.test.ts).
 */
function discard(c: pg.Client): void {
  void c.end().catch(() => {});
  (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
