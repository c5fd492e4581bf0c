// Runs one probe query and turns its failures into notes instead of crashes (pg_activity's rule):
// missing privileges or a missing view switch the probe off; a statement or lock timeout skips it
// and backs off for a few polls so a struggling server is not hit every second. Anything else that
// looks like a lost connection is rethrown: the poll as a whole failed.
import { redact } from '../util/secrets.js';
import { sqlFileText } from '../pg/sql-files.js';

export type ProbeName = 'activity' | 'locks' | 'index_progress' | 'replication' | 'sizes';

/** What each probe feeds, for notes and for `sample.unavailable`. */
export const PROBE_LABEL: Record<string, string> = {
  activity: 'sessions (pg_stat_activity)',
  locks: 'lock detail (pg_locks)',
  index_progress: 'index builds (pg_stat_progress_create_index)',
  replication: 'replication (pg_stat_replication, pg_replication_slots)',
  sizes: 'relation sizes',
};

export type ProbeErrorKind = 'privilege' | 'unsupported' | 'timeout' | 'lock' | 'failed' | 'connection';

export function classifyProbeError(err: unknown): ProbeErrorKind {
  const code = (err as { code?: string })?.code;
  if (!code || typeof code !== 'string') return 'connection';
  if (code === '42501') return 'privilege';
  if (['42883', '42P01', '42703', '0A000', '42704'].includes(code)) return 'unsupported';
  if (code === '57014') return 'timeout';
  if (code === '55P03') return 'lock';
  // Class 08 (connection exception), 57P01..57P05 (shutdown, crash), 53300 (too many connections).
  if (code.startsWith('08') || /^57P0\d$/.test(code) || code === '53300') return 'connection';
  // Socket-level errors carry codes like ECONNRESET.
  if (/^E[A-Z]+$/.test(code)) return 'connection';
  return 'failed';
}

export type ProbeResult<R> = { ok: true; rows: R[] } | { ok: false; note: string };

/** A pg.Pool or pg.Client: probes run as named prepared statements (parsed and planned once per session). */
export interface ProbeDb {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: any[] }>;
}

const MAX_BACKOFF_POLLS = 32;

export class ProbeRunner {
  private readonly off = new Map<string, string>();
  private readonly backoff = new Map<string, { untilPoll: number; failures: number }>();
  private poll = 0;

  constructor(
    private readonly db: ProbeDb,
    private readonly serverVersionNum: number,
    /** Role the monitor connects as, for grant hints. */
    private readonly role: string,
    /** For messages: the statement_timeout the monitor's sessions run with. */
    private readonly statementTimeout = '500ms',
  ) {}

  /** Call once per poll before running probes (drives the back-off). */
  nextPoll(): void {
    this.poll++;
  }

  /** Probes switched off for good, with the reason. */
  get switchedOff(): ReadonlyMap<string, string> {
    return this.off;
  }

  /** Runs the named probe's SQL file for this server version. */
  run<R>(name: ProbeName, params: unknown[] = []): Promise<ProbeResult<R>> {
    let sql: string;
    let file: string;
    try {
      ({ sql, file } = sqlFileText('monitor/sql', name, this.serverVersionNum));
    } catch (err) {
      this.off.set(name, `${PROBE_LABEL[name]}: switched off: ${(err as Error).message}`);
      return Promise.resolve({ ok: false, note: this.off.get(name)! });
    }
    // Named after the file, so each version's text has its own prepared statement.
    return this.runSql<R>(name, sql, params, `pgrunbook_monitor_${file.replace(/\W/g, '_')}`);
  }

  /** Runs probe SQL under the same failure rules (used by run(), and by tests). */
  async runSql<R>(name: string, sql: string, params: unknown[] = [], statementName?: string): Promise<ProbeResult<R>> {
    const label = PROBE_LABEL[name] ?? name;
    const offNote = this.off.get(name);
    if (offNote) return { ok: false, note: offNote };
    const b = this.backoff.get(name);
    if (b && this.poll < b.untilPoll) {
      return {
        ok: false,
        note: `${label}: paused after ${b.failures} failed poll${b.failures > 1 ? 's' : ''}; retrying in ${b.untilPoll - this.poll}`,
      };
    }
    try {
      const res = await this.db.query({ ...(statementName ? { name: statementName } : {}), text: sql, values: params });
      this.backoff.delete(name);
      return { ok: true, rows: res.rows as R[] };
    } catch (err) {
      const kind = classifyProbeError(err);
      const msg = redact((err as Error)?.message ?? String(err));
      switch (kind) {
        case 'connection':
          throw err;
        case 'privilege': {
          const note = `${label}: switched off: ${msg}. Give role "${this.role}" access (GRANT pg_monitor, or a GRANT on the object named) to turn it on.`;
          this.off.set(name, note);
          return { ok: false, note };
        }
        case 'unsupported': {
          const note = `${label}: switched off: not available on this server (${msg}).`;
          this.off.set(name, note);
          return { ok: false, note };
        }
        default: {
          const failures = (b?.failures ?? 0) + 1;
          const skip = Math.min(MAX_BACKOFF_POLLS, 2 ** (failures - 1));
          this.backoff.set(name, { untilPoll: this.poll + skip, failures });
          const why =
            kind === 'timeout'
              ? `timed out (statement_timeout ${this.statementTimeout})`
              : kind === 'lock'
                ? 'waited too long for a lock (lock_timeout)'
                : `failed: ${msg}`;
          return { ok: false, note: `${label}: ${why}; skipped${skip > 1 ? `, next try in ${skip} polls` : ''}.` };
        }
      }
    }
  }
}
