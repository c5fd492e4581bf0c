// A slow standby, on purpose. A standby on this machine replays WAL as fast as the primary writes
// it, so no change would ever make it fall behind. A real one falls behind when its disks, CPU or
// network are slower than the primary's; the lesson stands that in by letting the standby replay
// at most `bytesPerSec`: it pauses replay (pg_wal_replay_pause) when replay has used its budget and
// resumes it as the budget grows. The standby still receives every byte at once; only its replay is
// rationed, and the lesson says so on screen.
import pg from 'pg';
import { sqlText } from '../pg/sql-files.js';

const TICK_MS = 20;

/** The standby's received and replayed WAL positions (bytes from 0/0). */
export interface ReplayPosition {
  received: number;
  replayed: number;
}

export class ReplayBudget {
  private readonly client: pg.Client;
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private paused = false;
  private limited = true;
  /** A drill's fault: no replay at all until `release()`. */
  private stalled = false;
  /** Replay may go up to here (bytes from 0/0); it grows at the budget, never past what was received. */
  private allowed = 0;
  private last = 0;
  /** The standby's own positions at the last tick (bytes from 0/0). */
  position?: ReplayPosition;

  constructor(
    standbyUrl: string,
    readonly bytesPerSec: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.client = new pg.Client({ connectionString: standbyUrl, application_name: 'pgrunbook:learn-replay-budget' });
    this.client.on('error', () => {});
  }

  async start(): Promise<void> {
    await this.client.connect();
    const { rows } = await this.client.query<{ replayed: number }>(sqlText('learn/sql', 'standby-replay-position'));
    this.allowed = rows[0]!.replayed;
    this.last = this.now();
    const loop = () => {
      this.tick = this.step()
        .catch(() => {})
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, TICK_MS);
        });
    };
    this.timer = setTimeout(loop, TICK_MS);
  }

  /** Replay at full speed until `limit()` (the standby catches up between the lesson's two ways). */
  unlimit(): void {
    this.limited = false;
  }

  limit(): void {
    this.limited = true;
  }

  /**
   * Stops replay altogether (the standby keeps receiving) until `release()`. Resolves with the
   * standby's positions once the pause is requested: what it replays from then on is the stall's.
   */
  async stall(): Promise<ReplayPosition> {
    this.stalled = true;
    // Pause now rather than at the next tick: on a loaded machine a tick can come late, and replay
    // went on meanwhile (a drill once counted 1.1 MB replayed "while stalled").
    await this.tick;
    await this.setPaused(true);
    return this.readPosition();
  }

  release(): void {
    this.stalled = false;
  }

  private async step(): Promise<void> {
    const { received, replayed } = await this.readPosition();
    const t = this.now();
    // While stalled the budget does not grow: on release replay goes on at its rate, not in a rush.
    if (this.stalled) this.allowed = Math.min(this.allowed, replayed);
    else this.allowed = this.limited ? Math.min(this.allowed + ((t - this.last) / 1000) * this.bytesPerSec, received) : received;
    this.last = t;
    // Stalled: paused at once, not only once WAL is pending (a standby here replays as fast as it receives).
    const pause = this.stalled || (this.limited && replayed >= this.allowed && received > replayed);
    await this.setPaused(pause);
  }

  private async readPosition(): Promise<ReplayPosition> {
    const { rows } = await this.client.query<ReplayPosition>(sqlText('learn/sql', 'standby-replay-position'));
    this.position = rows[0]!;
    return this.position;
  }

  private async setPaused(pause: boolean): Promise<void> {
    if (pause === this.paused) return;
    await this.client.query(sqlText('learn/sql', pause ? 'standby-replay-pause' : 'standby-replay-resume'));
    this.paused = pause;
  }

  /** Stops rationing and leaves replay running. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.tick;
    await this.setPaused(false).catch(() => {});
    await this.client.end().catch(() => {});
  }
}
