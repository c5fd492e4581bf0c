// A primary with one streaming standby, for replication tests. The embedded binaries ship no
// pg_basebackup, so the standby comes from a low-level base backup: pg_backup_start(), a file copy,
// pg_backup_stop() -> backup_label, then standby.signal + primary_conninfo + a physical slot that
// keeps the WAL the standby needs.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync, mkdirSync, chownSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { EmbeddedServer, binDirFor, freePort } from '../../../src/pg/embedded-server.js';
import { waitFor } from './scenarios.js';

export interface Replicated {
  primary: EmbeddedServer;
  standbyUrl: string;
  slot: string;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function chownTree(path: string, as: { uid: number; gid: number }): void {
  chownSync(path, as.uid, as.gid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), as);
}

export async function startReplicated(major: number, slot = 'standby1'): Promise<Replicated> {
  const primary = await EmbeddedServer.start({ major, settings: { wal_level: 'replica', max_wal_senders: 5 } });
  const admin = new pg.Client(primary.url);
  await admin.connect();
  let standby: ChildProcess | undefined;
  let log = '';
  const dir = mkdtempSync(join(tmpdir(), `pgrunbook-standby${major}-`));
  try {
    await baseBackup(admin, primary, dir, major, slot);
    const as = postgresUser();
    if (as) chownTree(dir, as);
    const port = await freePort();
    standby = spawn(join(binDirFor(major)!, 'postgres'), standbyArgs(dir, port), {
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: as?.uid,
      gid: as?.gid,
    });
    const collect = (b: Buffer) => (log = (log + b.toString()).slice(-4000));
    standby.stdout!.on('data', collect);
    standby.stderr!.on('data', collect);
    const standbyUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitFor(() => inRecovery(standbyUrl), 'the standby to accept connections', 30_000).catch((e: Error) => {
      throw new Error(`${e.message}; standby log:\n${log}`);
    });
    await waitFor(
      async () => (await admin.query(`select 1 from pg_stat_replication where state = 'streaming'`)).rowCount === 1,
      'streaming replication',
      30_000,
    );
    await admin.end();
    const child = standby;
    child.stdout!.removeListener('data', collect);
    child.stderr!.removeListener('data', collect);
    child.stdout!.resume();
    child.stderr!.resume();
    return {
      primary,
      standbyUrl,
      slot,
      stop: async () => {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
        await primary.stop();
      },
    };
  } catch (err) {
    standby?.kill('SIGKILL');
    await admin.end().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    await primary.stop();
    throw err;
  }
}

/** A low-level base backup of the primary into `dir`, set up as a standby streaming from `slot`. */
async function baseBackup(admin: pg.Client, primary: EmbeddedServer, dir: string, major: number, slot: string): Promise<void> {
  await admin.query(`select pg_create_physical_replication_slot($1, true)`, [slot]);
  const v15 = major >= 15;
  await admin.query(v15 ? `select pg_backup_start('pgrunbook-test', true)` : `select pg_start_backup('pgrunbook-test', true, false)`);
  cpSync(primary.dataDir, dir, {
    recursive: true,
    filter: (src) => {
      const rel = relative(primary.dataDir, src);
      if (rel === 'postmaster.pid' || rel === 'postmaster.opts' || rel.startsWith('.s.PGSQL')) return false;
      // Like pg_basebackup: slots stay on the primary.
      if (rel.startsWith('pg_replslot/')) return false;
      // WAL comes over streaming replication from the slot, not from the copy.
      return !(rel.startsWith('pg_wal/') && rel !== 'pg_wal/archive_status');
    },
  });
  const stop = await admin.query(
    v15 ? `select labelfile, spcmapfile from pg_backup_stop(true)` : `select labelfile, spcmapfile from pg_stop_backup(false, true)`,
  );
  writeFileSync(join(dir, 'backup_label'), stop.rows[0].labelfile);
  if (stop.rows[0].spcmapfile) writeFileSync(join(dir, 'tablespace_map'), stop.rows[0].spcmapfile);
  mkdirSync(join(dir, 'pg_wal', 'archive_status'), { recursive: true });
  writeFileSync(join(dir, 'standby.signal'), '');
  appendFileSync(
    join(dir, 'postgresql.auto.conf'),
    `\nprimary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres application_name=${slot}'\nprimary_slot_name = '${slot}'\n`,
  );
}

function standbyArgs(dir: string, port: number): string[] {
  const settings = [
    `port=${port}`,
    'listen_addresses=127.0.0.1',
    `unix_socket_directories=${dir}`,
    'fsync=off',
    'hot_standby=on',
    'max_connections=300',
    'max_wal_senders=5',
  ];
  return ['-D', dir, ...settings.flatMap((s) => ['-c', s])];
}

async function inRecovery(url: string): Promise<boolean> {
  const c = new pg.Client(url);
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.query('select pg_is_in_recovery() as r')).rows[0].r === true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** SIGINT (fast shutdown), SIGKILL after 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGINT');
  });
}
