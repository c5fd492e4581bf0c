// Notices a connection that stalls while a query is in flight: the network path stops forwarding
// (a hung proxy or NAT entry) but nothing resets it, so node-postgres would wait forever. TCP
// keepalives cannot tell while the path still acknowledges. Every CHECK_MS the watchdog asks the
// server, on a fresh connection, what each backend with a query in flight for over STALL_AFTER_MS
// is doing. A backend that is not running a query (it answered into the void, or never got the
// query) in two checks in a row, or that is gone, or a server that cannot be asked at all for
// UNREACHABLE_MS, means the connection is dead: its socket is destroyed, so the query fails as a
// lost connection and the caller's reconnect or stop logic takes over. Long statements that the
// server is still running are never touched, however long they take.
import pg from 'pg';
import { systemClock, type Clock } from '../util/clock.js';
import { clientConfig } from './client-config.js';
import { sqlText } from './sql-files.js';

export const STALL_AFTER_MS = 5_000;
export const CHECK_MS = 2_500;
export const UNREACHABLE_MS = 15_000;

/** node-postgres internals read here (stable across pg 8.x): the query in flight and the socket. */
interface ClientInternals {
  _activeQuery: object | null;
  processID: number | null;
  connection?: { stream?: { destroy(): void } };
}

interface Watched {
  query: object | null;
  since: number;
  idleChecks: number;
}

/** What the watchdog depends on, injectable so its decisions can be tested without a server or real time. */
export interface WatchdogDeps {
  clock: Clock;
  /** Each pid's `state` in pg_stat_activity ('' when null; absent when the backend is gone); throws when the server cannot be asked. */
  probe: (pids: number[]) => Promise<Map<number, string>>;
  /** Calls `check` every `ms` until the returned function is called. */
  every: (check: () => Promise<void>, ms: number) => () => void;
}

function everyUnref(check: () => Promise<void>, ms: number): () => void {
  const timer = setInterval(() => void check(), ms);
  timer.unref();
  return () => clearInterval(timer);
}

export class StallWatchdog {
  private readonly clients = new Map<pg.Client, Watched>();
  private stop?: () => void;
  private checking = false;
  private unreachableSince?: number;
  private readonly deps: WatchdogDeps;

  /** `sessionOptions`: startup options for the probe's session (a read-only source gets read-only probes). */
  constructor(
    private readonly connectionString: string | undefined,
    deps: Partial<WatchdogDeps> = {},
    private readonly sessionOptions?: string,
  ) {
    this.deps = { clock: systemClock, probe: (pids) => this.backendStates(pids), every: everyUnref, ...deps };
  }

  track(client: pg.Client): void {
    this.clients.set(client, { query: null, since: 0, idleChecks: 0 });
    client.once('end', () => this.clients.delete(client));
    this.stop ??= this.deps.every(() => this.tick(), CHECK_MS);
  }

  private async tick(): Promise<void> {
    if (this.checking) return;
    if (this.clients.size === 0) {
      this.stop?.();
      this.stop = undefined;
      return;
    }
    const now = this.deps.clock.now();
    const suspects = new Map<number, pg.Client>();
    for (const [client, w] of this.clients) {
      const c = client as unknown as ClientInternals;
      if (c._activeQuery !== w.query) Object.assign(w, { query: c._activeQuery, since: now, idleChecks: 0 });
      if (w.query && c.processID && now - w.since > STALL_AFTER_MS) suspects.set(c.processID, client);
    }
    if (suspects.size === 0) return;
    this.checking = true;
    try {
      await this.check(suspects, now);
    } finally {
      this.checking = false;
    }
  }

  private async check(suspects: Map<number, pg.Client>, now: number): Promise<void> {
    let states: Map<number, string>;
    try {
      states = await this.deps.probe([...suspects.keys()]);
      this.unreachableSince = undefined;
    } catch {
      this.unreachableSince ??= now;
      if (now - this.unreachableSince >= UNREACHABLE_MS) for (const c of suspects.values()) destroy(c);
      return;
    }
    for (const [pid, client] of suspects) {
      const w = this.clients.get(client);
      if (!w) continue;
      const state = states.get(pid);
      if (state === 'active') w.idleChecks = 0;
      else if (state === undefined || ++w.idleChecks >= 2) destroy(client);
    }
  }

  private async backendStates(pids: number[]): Promise<Map<number, string>> {
    const probe = new pg.Client({
      ...clientConfig(this.connectionString),
      application_name: 'pgrunbook:watchdog',
      connectionTimeoutMillis: 5_000,
      ...(this.sessionOptions ? { options: this.sessionOptions } : {}),
    });
    probe.on('error', () => {});
    const bound = setTimeout(() => destroy(probe), 5_000);
    try {
      await probe.connect();
      const r = await probe.query<{ pid: number; state: string | null }>(sqlText('pg/sql', 'backend-states'), [pids]);
      return new Map(r.rows.map((row) => [row.pid, row.state ?? '']));
    } finally {
      clearTimeout(bound);
      await probe.end().catch(() => {});
    }
  }
}

function destroy(client: pg.Client): void {
  (client as unknown as ClientInternals).connection?.stream?.destroy();
}

const watchdogs = new Map<string, StallWatchdog>();

/**
 * Puts a session under its target's watchdog. The socket the watchdog may destroy then fails the
 * query in flight; the session's error event (which would crash the process) is listened to here.
 */
export function watchSession<C extends pg.Client>(client: C, connectionString: string | undefined, sessionOptions?: string): C {
  client.on('error', () => {});
  watchdogFor(connectionString, sessionOptions).track(client);
  return client;
}

/**
 * One watchdog per target (and probe session options). Sessions opened by createPool, the
 * connection factory, status/report, the rehearsal's source, sampler and sandbox sessions and
 * `init --verify`'s read of the target register here.
 */
export function watchdogFor(connectionString: string | undefined, sessionOptions?: string): StallWatchdog {
  const key = `${sessionOptions ?? ''}\n${connectionString ?? ''}`;
  let w = watchdogs.get(key);
  if (!w) watchdogs.set(key, (w = new StallWatchdog(connectionString, {}, sessionOptions)));
  return w;
}
