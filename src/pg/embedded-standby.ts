// A physical streaming standby of a PostgreSQL server on this machine, from the same embedded
// binaries. The packages carry only initdb, pg_ctl and postgres (no pg_basebackup), so the base
// backup is the one pg_basebackup makes, done by hand: a replication slot reserving WAL, the
// low-level backup API around a copy of the primary's data directory, backup_label from the
// backup's end, then standby.signal and primary_conninfo. The standby streams from the slot and
// runs hot (read-only queries). Used by the learn lesson on replication lag and its tests.
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { binDirFor, EmbeddedServer } from './embedded-server.js';
import { sqlText } from './sql-files.js';

/** Directories whose contents a base backup leaves out (the server rebuilds them), and files it never copies. */
const EMPTY_DIRS = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);
const SKIP_FILES =
  /^(postmaster\.(pid|opts)|backup_label(\.old)?|tablespace_map(\.old)?|standby\.signal|recovery\.signal|pg_internal\.init|\.s\.PGSQL\.\d+(\.lock)?)$/;

interface PrimaryFacts {
  version_num: number;
  data_directory: string;
  wal_level: string;
  free_wal_senders: number;
  free_slots: number;
  hba_allows_replication: boolean;
  max_connections: string;
  max_worker_processes: string;
  max_wal_senders: string;
  max_prepared_transactions: string;
  max_locks_per_transaction: string;
}

export interface StandbyOptions {
  /** How long to wait for the standby to stream (default 60 s). */
  timeoutMs?: number;
}

/** What keeps the primary from having a standby made here, each with what to do; empty when nothing does. */
function obstacles(f: PrimaryFacts): string[] {
  const out: string[] = [];
  if (f.wal_level === 'minimal') out.push('wal_level is minimal: set wal_level = replica and restart the primary');
  if (f.free_wal_senders < 1) out.push('no WAL sender is free: raise max_wal_senders and restart the primary');
  if (f.free_slots < 1) out.push('no replication slot is free: raise max_replication_slots or drop an unused slot');
  if (!f.hba_allows_replication)
    out.push('pg_hba.conf has no `host replication` line: add `host replication all 127.0.0.1/32 trust` (or scram) and reload');
  if (!existsSync(f.data_directory))
    out.push(
      `its data directory ${f.data_directory} is not on this machine: the standby starts from a copy of it, so use a server running here`,
    );
  return out;
}

/** Copies a live data directory's files (not sockets, not what a base backup leaves out); files removed meanwhile are skipped. */
function copyDataDir(from: string, to: string, top = true): void {
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    try {
      const st = lstatSync(src);
      if (st.isDirectory()) {
        mkdirSync(dst, { recursive: true, mode: 0o700 });
        if (top && EMPTY_DIRS.has(name)) {
          if (name === 'pg_wal') mkdirSync(join(dst, 'archive_status'), { mode: 0o700 });
          continue;
        }
        if (!name.startsWith('pgsql_tmp')) copyDataDir(src, dst, false);
      } else if (st.isFile() && !SKIP_FILES.test(name)) {
        copyFileSync(src, dst);
      }
    } catch (err) {
      // A temporary file or a dropped relation's file that went away while copying: WAL replay recreates what matters.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** A libpq key=value, single-quoted. */
const conninfoValue = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** A postgresql.conf string value. */
const confValue = (v: string) => `'${v.replace(/'/g, "''")}'`;

export class EmbeddedStandby {
  private constructor(
    /** Its application_name on the primary (pg_stat_replication) and its slot's name. */
    readonly name: string,
    readonly server: EmbeddedServer,
    private readonly primaryUrl: string,
  ) {}

  /** The standby, with the primary URL's user and database. */
  get url(): string {
    const u = new URL(this.primaryUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.server.port);
    return u.toString();
  }

  /** Makes a standby of the server at `primaryUrl` (a superuser's URL) and resolves once it streams. */
  static async start(primaryUrl: string, opts: StandbyOptions = {}): Promise<EmbeddedStandby> {
    const name = `pgrunbook_standby_${randomBytes(4).toString('hex')}`;
    const primary = new pg.Client({ connectionString: primaryUrl, application_name: 'pgrunbook:standby-backup' });
    primary.on('error', () => {});
    await primary.connect();
    let slotMade = false;
    try {
      const facts = (await primary.query<PrimaryFacts>(sqlText('pg/sql', 'standby-primary-facts'))).rows[0]!;
      const major = Math.floor(facts.version_num / 10000);
      const problems = obstacles(facts);
      if (!binDirFor(major))
        problems.push(`no embedded PostgreSQL ${major} binaries are installed: run \`npm ci\` in the pgrunbook checkout`);
      if (problems.length) throw new Error(`cannot make a standby of this server: ${problems.join('; ')}`);
      await primary.query(sqlText('pg/sql', 'standby-slot-create'), [name]);
      slotMade = true;
      const server = await EmbeddedServer.startFrom((dataDir) => baseBackup(primary, facts, dataDir, standbyConf(primaryUrl, name)), {
        major,
        settings: {
          hot_standby: 'on',
          // Positions reach pg_stat_replication at least every second, also while replay is paused.
          wal_receiver_status_interval: '1s',
          hot_standby_feedback: 'off',
          cluster_name: name,
          shared_preload_libraries: '',
          max_connections: facts.max_connections,
          max_worker_processes: facts.max_worker_processes,
          max_wal_senders: facts.max_wal_senders,
          max_prepared_transactions: facts.max_prepared_transactions,
          max_locks_per_transaction: facts.max_locks_per_transaction,
        },
      });
      const standby = new EmbeddedStandby(name, server, primaryUrl);
      try {
        await standby.waitStreaming(primary, opts.timeoutMs ?? 60_000);
      } catch (err) {
        await standby.stop();
        throw err;
      }
      return standby;
    } catch (err) {
      if (slotMade) await primary.query(sqlText('pg/sql', 'standby-slot-drop'), [name]).catch(() => {});
      throw err;
    } finally {
      await primary.end().catch(() => {});
    }
  }

  private async waitStreaming(primary: pg.Client, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let state = 'not connected';
    for (;;) {
      const { rows } = await primary.query<{ state: string }>(sqlText('pg/sql', 'standby-streaming'), [this.name]);
      state = rows[0]?.state ?? 'not connected';
      if (state === 'streaming') return;
      if (Date.now() > deadline)
        throw new Error(
          `the standby ${this.name} (port ${this.server.port}) did not stream within ${Math.round(timeoutMs / 1000)} s (its walsender: ${state}); the machine may be too busy: try again`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the standby, removes its files and drops its slot on the primary. */
  async stop(): Promise<void> {
    await this.server.stop();
    const primary = new pg.Client({ connectionString: this.primaryUrl, application_name: 'pgrunbook:standby-backup' });
    primary.on('error', () => {});
    try {
      await primary.connect();
      // The walsender may take a moment to go after the standby stops; its slot stays active until then.
      for (let i = 0; i < 50; i++) {
        const { rows } = await primary.query(sqlText('pg/sql', 'standby-slot-drop'), [this.name]);
        if (rows.length) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `the replication slot ${this.name} is still in use 5 s after its standby stopped: drop it with pg_drop_replication_slot('${this.name}')`,
      );
    } finally {
      await primary.end().catch(() => {});
    }
  }
}

/** The standby's lines for postgresql.auto.conf: where to stream from, as whom, through which slot. */
function standbyConf(primaryUrl: string, name: string): string {
  const u = new URL(primaryUrl);
  const parts = [`host=${conninfoValue(u.hostname)}`, `port=${conninfoValue(u.port || '5432')}`, `application_name=${conninfoValue(name)}`];
  if (u.username) parts.push(`user=${conninfoValue(decodeURIComponent(u.username))}`);
  // In the standby's own config file (mode 0600), never on a command line.
  if (u.password) parts.push(`password=${conninfoValue(decodeURIComponent(u.password))}`);
  return `primary_conninfo = ${confValue(parts.join(' '))}\nprimary_slot_name = ${confValue(name)}\n`;
}

/** The copy between backup start and stop, then what turns the copy into a standby. */
async function baseBackup(primary: pg.Client, facts: PrimaryFacts, dataDir: string, conf: string): Promise<void> {
  await primary.query(sqlText('pg/sql', 'standby-backup-start', facts.version_num), ['pgrunbook standby']);
  let stopped = false;
  try {
    copyDataDir(facts.data_directory, dataDir);
    const { rows } = await primary.query<{ labelfile: string; spcmapfile: string | null }>(
      sqlText('pg/sql', 'standby-backup-stop', facts.version_num),
    );
    stopped = true;
    if (rows[0]!.spcmapfile?.trim())
      throw new Error('the primary has tablespaces outside its data directory: a standby is made here only of a server without them');
    writeFileSync(join(dataDir, 'backup_label'), rows[0]!.labelfile);
  } finally {
    if (!stopped) await primary.query(sqlText('pg/sql', 'standby-backup-stop', facts.version_num)).catch(() => {});
  }
  writeFileSync(join(dataDir, 'standby.signal'), '');
  appendFileSync(join(dataDir, 'postgresql.auto.conf'), conf, { mode: 0o600 });
}
