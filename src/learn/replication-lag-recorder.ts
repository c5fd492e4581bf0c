// The standby's side of the replication-lag lesson: how far its replay is behind the primary, read
// from the primary's pg_stat_replication (bytes from pg_current_wal_lsn() to replay_lsn, and
// replay_lag) every 200 ms and attributed to the lesson's phase. The summary's lag figures come
// from these samples and nothing else.
import pg from 'pg';
import { sqlText } from '../pg/sql-files.js';

const SAMPLE_MS = 200;

export interface LagSample {
  lagBytes: number;
  replayLagMs: number | null;
}

export interface LagFigures {
  samples: number;
  maxBytes: number;
  /** The largest replay_lag seen (NULL samples, an idle standby, are left out). */
  maxReplayLagMs: number | null;
  /** Time the standby spent more than the lesson's bar behind (between samples over it). */
  overBarMs: number;
}

export class ReplicationLagRecorder {
  private readonly client: pg.Client;
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private phase = 'warm-up';
  private readonly figures = new Map<string, LagFigures>();
  private lastAt?: number;
  private lastOver = false;
  private seq = 0;
  last?: LagSample;

  constructor(
    primaryUrl: string,
    private readonly standbyName: string,
    private readonly barBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.client = new pg.Client({ connectionString: primaryUrl, application_name: 'pgrunbook:learn-lag' });
    this.client.on('error', () => {});
  }

  async start(): Promise<void> {
    await this.client.connect();
    const loop = () => {
      this.tick = this.sample()
        .catch(() => {})
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, SAMPLE_MS);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** Samples from now on count for `name`. */
  setPhase(name: string): void {
    this.phase = name;
    this.lastAt = undefined;
  }

  private async sample(): Promise<void> {
    const { rows } = await this.client.query<{ lag_bytes: number | null; replay_lag_ms: number | null }>(
      sqlText('pg/sql', 'standby-streaming'),
      [this.standbyName],
    );
    const r = rows[0];
    if (!r || r.lag_bytes === null) return;
    const s: LagSample = { lagBytes: Math.max(0, r.lag_bytes), replayLagMs: r.replay_lag_ms };
    const t = this.now();
    const f = this.figures.get(this.phase) ?? { samples: 0, maxBytes: 0, maxReplayLagMs: null, overBarMs: 0 };
    f.samples++;
    f.maxBytes = Math.max(f.maxBytes, s.lagBytes);
    if (s.replayLagMs !== null) f.maxReplayLagMs = Math.max(f.maxReplayLagMs ?? 0, s.replayLagMs);
    if (this.lastAt !== undefined && this.lastOver) f.overBarMs += t - this.lastAt;
    this.figures.set(this.phase, f);
    this.lastAt = t;
    this.lastOver = s.lagBytes > this.barBytes;
    this.last = s;
    this.seq++;
  }

  phaseFigures(phase: string): LagFigures {
    return { ...(this.figures.get(phase) ?? { samples: 0, maxBytes: 0, maxReplayLagMs: null, overBarMs: 0 }) };
  }

  /** Resolves once a sample taken after the call shows the standby at most `bytes` behind; false if `timeoutMs` passed first. */
  async until(bytes: number, timeoutMs: number): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    const from = this.seq;
    for (;;) {
      if (this.seq > from && this.last && this.last.lagBytes <= bytes) return true;
      if (this.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.tick;
    await this.client.end().catch(() => {});
  }
}
