// The fleet's journal in the catalog database (`--catalog-db`): the fleet, its targets (their URLs
// without passwords), its waves and its fleet-level events in the `pgrunbook` schema there, so
// `fleet resume` continues from any machine with only the catalog's URL. The operator lock is a
// session-level advisory lock plus a holder row naming who took it: PostgreSQL frees the lock when
// the holder's session ends (its process died, or the server's TCP keepalives found its host gone).
import { hostname, userInfo } from 'node:os';
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';
import { type ConnectionSpec, createPool, describeTarget, explainConnectionError } from '../pg/connection.js';
import { sqlText } from '../pg/sql-files.js';
import { InputError, RunbookError, RunLockHeldError } from '../util/runbook-error.js';
import { redactDeep, redactedMessage } from '../util/secrets.js';
import type { FleetEvent } from './fleet-runner.js';
import type { FleetLogEntry, FleetRequest, FleetStateData, FleetStore, TargetEntry } from './fleet-state.js';
import { type FleetTarget, loadTargetsFile, queryTargets } from './fleet-targets.js';

const SQL = 'fleet/sql';
const LOCK_CLASS = 1347899974; // 'PGRF'
/** The lock session's server-side keepalives: a holder whose host vanished is dropped within ~25 s. */
const LOCK_SESSION_OPTIONS = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3';

/** The catalog database's connection for the fleet's journal. */
export interface CatalogDb {
  spec: ConnectionSpec;
  pool: pg.Pool;
}

export async function openCatalog(spec: ConnectionSpec): Promise<CatalogDb> {
  const pool = createPool(spec, { applicationName: 'pgrunbook:fleet', max: 3 });
  const fail = async (message: string) => {
    await pool.end().catch(() => {});
    return new RunbookError(message);
  };
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw await fail(explainConnectionError(err, spec).replace(`(from ${spec.source})`, '(from --catalog-db)'));
  }
  try {
    await client.query(sqlText(SQL, 'fleet-schema'));
  } catch (err) {
    client.release();
    throw await fail(
      `cannot keep the fleet's journal in ${describeTarget(spec.target)}: ${redactedMessage(err)}. ` +
        'The --catalog-db role needs CREATE on that database (for the pgrunbook schema), or an administrator creates the schema once.',
    );
  }
  client.release();
  return { spec, pool };
}

interface FleetRow {
  fleet_id: string;
  request: FleetRequest;
  runbook_source: string;
  status: FleetStateData['status'];
  halt_reason: string | null;
  started_at: Date;
}

interface TargetRow {
  name: string;
  url: string;
  labels: Record<string, string>;
  vars: Record<string, string>;
  wave: number | null;
  status: TargetEntry['status'] | 'pending';
  run_id: string | null;
  reason: string | null;
  updated_at: Date;
}

export class CatalogFleetStore implements FleetStore {
  private lockClient?: pg.Client;
  private lost?: string;

  private constructor(
    private readonly db: CatalogDb,
    readonly id: string,
    readonly data: FleetStateData,
    /** The runbook's text as the fleet started it: a resume elsewhere runs the same runbook. */
    readonly runbookSource: string,
    /** The targets in order, their URLs without passwords. */
    readonly targets: FleetTarget[],
  ) {}

  get resumeArgs(): string {
    return `--catalog-db ${withoutPassword(this.db.spec.connectionString ?? describeTarget(this.db.spec.target))} --fleet ${this.id}`;
  }

  /** A new fleet; an unfinished one of the same id is refused (continue it with `fleet resume`). */
  static async create(
    db: CatalogDb,
    id: string,
    request: FleetRequest,
    runbookSource: string,
    targets: FleetTarget[],
  ): Promise<CatalogFleetStore> {
    const old = (await db.pool.query<FleetRow>(sqlText(SQL, 'fleet-get'), [id])).rows[0];
    if (old) {
      throw new InputError(
        `the catalog database already has a fleet "${id}" (${old.status})`,
        old.status === 'completed'
          ? 'pick another --fleet name'
          : `continue it with \`pgrunbook fleet resume --catalog-db URL --fleet ${id}\`, or pick another --fleet name`,
      );
    }
    const stored = targets.map((t) => ({ ...t, url: withoutPassword(t.url) }));
    await db.pool.query(sqlText(SQL, 'fleet-insert'), [id, JSON.stringify(request), runbookSource, JSON.stringify(stored)]);
    return CatalogFleetStore.open(db, id);
  }

  /** A fleet by id; without one, the only unfinished fleet (`unfinished`) or the newest. */
  static async open(db: CatalogDb, id: string | undefined, unfinished = false): Promise<CatalogFleetStore> {
    const fleetId = id ?? (await pickFleet(db, unfinished));
    const row = (await db.pool.query<FleetRow>(sqlText(SQL, 'fleet-get'), [fleetId])).rows[0];
    if (!row)
      throw new InputError(
        `the catalog database has no fleet "${fleetId}"`,
        '`pgrunbook fleet status --catalog-db URL` lists the fleets there',
      );
    const rows = (await db.pool.query<TargetRow>(sqlText(SQL, 'fleet-targets'), [fleetId])).rows;
    const data: FleetStateData = {
      version: 1,
      request: row.request,
      status: row.status,
      haltReason: row.halt_reason ?? undefined,
      startedAt: row.started_at.toISOString(),
      order: rows.map((r) => r.name),
      targets: {},
    };
    for (const r of rows) {
      if (r.status === 'pending') continue;
      data.targets[r.name] = {
        status: r.status,
        wave: r.wave ?? 0,
        ...(r.run_id ? { runId: r.run_id } : {}),
        ...(r.reason ? { reason: r.reason } : {}),
        at: r.updated_at.toISOString(),
      };
    }
    const targets = rows.map((r) => ({ name: r.name, url: r.url, labels: r.labels, vars: r.vars }));
    return new CatalogFleetStore(db, fleetId, data, row.runbook_source, targets);
  }

  async setTarget(name: string, entry: Omit<TargetEntry, 'at'>): Promise<void> {
    if (this.lost) throw new RunbookError(this.lost);
    await this.db.pool.query(sqlText(SQL, 'fleet-target-set'), [
      this.id,
      name,
      entry.wave,
      entry.status,
      entry.runId ?? null,
      entry.reason ?? null,
    ]);
    this.data.targets[name] = { ...entry, at: new Date().toISOString() };
  }

  async record(e: FleetEvent): Promise<void> {
    const q = (name: string, params: unknown[]) => this.db.pool.query(sqlText(SQL, name), [this.id, ...params]);
    if (e.type === 'fleet.wave.started') await q('fleet-wave-started', [e.wave, e.targets.length, e.parallel]);
    if (e.type === 'fleet.wave.finished') await q('fleet-wave-finished', [e.wave, e.completed, e.failed]);
    await q('fleet-event-insert', [e.type, JSON.stringify(redactDeep(e))]);
  }

  async finish(status: 'completed' | 'halted', haltReason?: string): Promise<void> {
    await this.db.pool.query(sqlText(SQL, 'fleet-finish'), [this.id, status, haltReason ?? null]);
    this.data.status = status;
    this.data.haltReason = haltReason;
  }

  async lock(): Promise<() => Promise<void>> {
    const c = new pg.Client({
      ...clientConfig(this.db.spec.connectionString),
      application_name: 'pgrunbook:fleet-lock',
      options: LOCK_SESSION_OPTIONS,
    });
    c.on('error', (err) => {
      this.lost = `the fleet's lock session on the catalog database ended (${redactedMessage(err)}); no new target starts. Run \`pgrunbook fleet resume ${this.resumeArgs}\``;
    });
    await c.connect();
    // Twice: a holder that lets go between our try and our look at it is not named as holding.
    for (let attempt = 0; ; attempt++) {
      if ((await c.query<{ ok: boolean }>(sqlText(SQL, 'fleet-lock-try'), [LOCK_CLASS, this.id])).rows[0]!.ok) break;
      const holder = await this.holder(c);
      if (holder || attempt > 0) {
        await c.end().catch(() => {});
        throw heldError(this.id, holder, this.resumeArgs);
      }
    }
    const me = userInfo();
    await c.query(sqlText(SQL, 'fleet-holder-set'), [this.id, me.username, hostname(), process.pid]);
    if (this.data.status === 'halted') await this.db.pool.query(sqlText(SQL, 'fleet-finish'), [this.id, 'running', null]);
    this.lockClient = c;
    return async () => {
      this.lockClient = undefined;
      await c.query(sqlText(SQL, 'fleet-lock-release'), [LOCK_CLASS, this.id]).catch(() => {});
      await c.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    await this.lockClient?.end().catch(() => {});
    await this.db.pool.end().catch(() => {});
  }

  async events(): Promise<FleetLogEntry[]> {
    const rows = (await this.db.pool.query<{ at: Date; event: FleetEvent }>(sqlText(SQL, 'fleet-events'), [this.id])).rows;
    return rows.map((r) => ({ at: r.at.toISOString(), ...r.event }));
  }

  /** The catalog keeps no password: each target's URL from its source again when it is at hand. */
  async currentTargets(): Promise<FleetTarget[]> {
    const req = this.data.request;
    let fresh: FleetTarget[] | undefined;
    if (req.targetsQuery) fresh = await queryTargets(this.db.pool, req.targetsQuery);
    else if (req.targets) fresh = await loadTargetsFile(req.targets).catch(() => undefined); // not on this machine
    const byName = new Map((fresh ?? []).map((t) => [t.name, t.url]));
    return this.targets.map((t) => ({ ...t, url: byName.get(t.name) ?? t.url }));
  }

  /** Where each wave got to, for `fleet status`. */
  async waves(): Promise<
    { wave: number; targets: number; parallel: number; completed: number | null; failed: number | null; finished: boolean }[]
  > {
    const rows = (await this.db.pool.query(sqlText(SQL, 'fleet-waves'), [this.id])).rows;
    return rows.map((r) => ({
      wave: r.wave,
      targets: r.targets,
      parallel: r.parallel,
      completed: r.completed,
      failed: r.failed,
      finished: !!r.finished_at,
    }));
  }

  private async holder(c: pg.Client): Promise<Holder | undefined> {
    return (await c.query<Holder>(sqlText(SQL, 'fleet-holder'), [LOCK_CLASS, this.id])).rows[0];
  }
}

interface Holder {
  backend_pid: number;
  client_addr: string | null;
  os_user: string | null;
  host: string | null;
  pid: number | null;
  since: Date | null;
}

function heldError(id: string, h: Holder | undefined, resumeArgs: string): RunLockHeldError {
  const who = h
    ? `${h.os_user ?? 'an unknown user'}@${h.host ?? h.client_addr ?? 'an unknown host'} (pid ${h.pid ?? '?'}, backend pid ${h.backend_pid}${h.since ? `, since ${h.since.toISOString()}` : ''})`
    : 'another session';
  return new RunLockHeldError(
    `fleet "${id}" is held by ${who}; nothing was started. Wait for it, or if that operator is gone for good ` +
      `end its session on the catalog database (SELECT pg_terminate_backend(${h?.backend_pid ?? 'pid'})), then \`pgrunbook fleet resume ${resumeArgs}\``,
  );
}

async function pickFleet(db: CatalogDb, unfinished: boolean): Promise<string> {
  const rows = (await db.pool.query<{ fleet_id: string; status: string; started_at: Date }>(sqlText(SQL, 'fleet-list'), [unfinished])).rows;
  const list = rows.map((r) => `${r.fleet_id} (${r.status}, started ${r.started_at.toISOString()})`).join(', ');
  if (rows.length === 0)
    throw new InputError(
      unfinished ? 'the catalog database has no unfinished fleet' : 'the catalog database has no fleet',
      unfinished
        ? '`pgrunbook fleet status --catalog-db URL` shows the newest fleet'
        : 'start one with `pgrunbook fleet run --catalog-db URL`',
    );
  if (unfinished && rows.length > 1)
    throw new InputError(`the catalog database has ${rows.length} unfinished fleets: ${list}`, 'name one with --fleet ID');
  return rows[0]!.fleet_id;
}

/** The URL as stored in the catalog: a password never is (resume takes it from libpq or the source again). */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
