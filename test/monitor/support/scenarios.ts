// Real PostgreSQL situations for the monitor and panel tests: a lock queue behind a waiting DDL, a long
// transaction, a CREATE INDEX CONCURRENTLY waiting for an old snapshot. Each returns the pids involved
// and a cleanup that ends every session it opened.
import pg from 'pg';

export interface Session {
  client: pg.Client;
  pid: number;
}

export async function openSession(url: string, app: string): Promise<Session> {
  const client = new pg.Client({ connectionString: url, application_name: app });
  client.on('error', () => {});
  await client.connect();
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return { client, pid };
}

/** Polls `check` until it returns truthy (no fixed sleeps). */
export async function waitFor<T>(check: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitingOnLock(admin: pg.Pool, pids: number[]): Promise<boolean> {
  const r = await admin.query(`select count(*)::int as n from pg_stat_activity where pid = any($1) and wait_event_type = 'Lock'`, [pids]);
  return r.rows[0].n === pids.length;
}

export async function createTable(admin: pg.Pool, table: string, rows = 2000): Promise<void> {
  await admin.query(`drop table if exists ${table}`);
  await admin.query(`create table ${table} (id int primary key, v text)`);
  await admin.query(`insert into ${table} select g, md5(g::text) from generate_series(1, $1) g`, [rows]);
  await admin.query(`analyze ${table}`);
}

export interface LockQueue {
  holder: Session;
  ddl: Session;
  readers: Session[];
  /** The waiting ALTER TABLE: settles (fulfilled or rejected) when it finishes or is cancelled. */
  ddlDone: Promise<unknown>;
  cleanup(): Promise<void>;
}

/**
 * An idle-in-transaction session holds ACCESS SHARE on `table`; our (pgrunbook) ALTER TABLE waits for
 * ACCESS EXCLUSIVE; `readers` plain SELECTs queue behind the ALTER.
 */
export async function lockQueue(url: string, admin: pg.Pool, table: string, readers = 2): Promise<LockQueue> {
  const holder = await openSession(url, 'app:holder');
  await holder.client.query('begin');
  await holder.client.query(`select * from ${table} limit 1`);
  const ddl = await openSession(url, 'pgrunbook:test-ddl');
  await ddl.client.query(`set lock_timeout = '60s'`);
  const ddlDone = ddl.client.query(`alter table ${table} add column extra int`).then(
    () => 'done',
    (e: Error) => e,
  );
  await waitFor(() => waitingOnLock(admin, [ddl.pid]), 'the ALTER TABLE to wait for its lock');
  const rs: Session[] = [];
  const readerDone: Promise<unknown>[] = [];
  for (let i = 0; i < readers; i++) {
    const r = await openSession(url, `app:reader${i + 1}`);
    readerDone.push(r.client.query(`select count(*) from ${table}`).catch((e) => e));
    rs.push(r);
  }
  await waitFor(
    () =>
      waitingOnLock(
        admin,
        rs.map((r) => r.pid),
      ),
    'the readers to queue',
  );
  return {
    holder,
    ddl,
    readers: rs,
    ddlDone,
    cleanup: async () => {
      await admin.query('select pg_cancel_backend($1)', [ddl.pid]).catch(() => {});
      await holder.client.query('rollback').catch(() => {});
      await ddlDone;
      await Promise.all(readerDone);
      await Promise.all([holder, ddl, ...rs].map((s) => s.client.end().catch(() => {})));
    },
  };
}

export interface LongTransaction {
  idleInTx: Session;
  sleeper: Session;
  cleanup(): Promise<void>;
}

/** One session idle in a transaction, one running a long statement (pg_sleep). */
export async function longTransaction(url: string, admin: pg.Pool, table: string): Promise<LongTransaction> {
  const idleInTx = await openSession(url, 'app:report');
  await idleInTx.client.query('begin');
  await idleInTx.client.query(`update ${table} set v = v where id = 1`);
  const sleeper = await openSession(url, 'app:batch');
  const sleeping = sleeper.client.query('select pg_sleep(60) /* nightly batch */').catch((e) => e);
  await waitFor(async () => {
    const r = await admin.query(`select 1 from pg_stat_activity where pid = $1 and wait_event = 'PgSleep'`, [sleeper.pid]);
    return r.rowCount === 1;
  }, 'the sleeper to run');
  return {
    idleInTx,
    sleeper,
    cleanup: async () => {
      await admin.query('select pg_cancel_backend($1)', [sleeper.pid]);
      await sleeping;
      await idleInTx.client.query('rollback').catch(() => {});
      await Promise.all([idleInTx, sleeper].map((s) => s.client.end().catch(() => {})));
    },
  };
}

export interface SnapshotWait {
  snapshotHolder: Session;
  builder: Session;
  index: string;
  built: Promise<unknown>;
  cleanup(): Promise<void>;
}

/**
 * A REPEATABLE READ transaction keeps an old snapshot open; CREATE INDEX CONCURRENTLY (ours) builds,
 * then waits for that snapshot before it can mark the index valid.
 */
export async function indexWaitingForSnapshot(url: string, admin: pg.Pool, table: string, index: string): Promise<SnapshotWait> {
  const snapshotHolder = await openSession(url, 'app:analytics');
  await snapshotHolder.client.query('begin isolation level repeatable read');
  await snapshotHolder.client.query(`select count(*) from ${table}`);
  const builder = await openSession(url, 'pgrunbook:test-index');
  const built = builder.client.query(`create index concurrently ${index} on ${table} (v)`).then(
    () => 'done',
    (e: Error) => e,
  );
  // The phase is set just before the wait starts: wait for the lock wait itself and its locker.
  await waitFor(async () => {
    const r = await admin.query(
      `select p.phase, p.current_locker_pid, a.wait_event_type
       from pg_stat_progress_create_index p join pg_stat_activity a using (pid) where p.pid = $1`,
      [builder.pid],
    );
    const row = r.rows[0];
    return (
      row?.phase === 'waiting for old snapshots' && Number(row.current_locker_pid) === snapshotHolder.pid && row.wait_event_type === 'Lock'
    );
  }, 'CREATE INDEX CONCURRENTLY to wait for old snapshots');
  return {
    snapshotHolder,
    builder,
    index,
    built,
    cleanup: async () => {
      await snapshotHolder.client.query('commit').catch(() => {});
      await built;
      await Promise.all([snapshotHolder, builder].map((s) => s.client.end().catch(() => {})));
    },
  };
}

export interface ScanningBuild {
  builder: Session;
  index: string;
  cleanup(): Promise<void>;
}

/**
 * CREATE INDEX CONCURRENTLY caught while it scans the table: the indexed expression calls a function
 * that sleeps 2 ms per row, so the scan of `rows` rows takes a while and blocks_done moves.
 */
export async function indexBuildScanning(url: string, admin: pg.Pool, table: string, index: string, rows = 1500): Promise<ScanningBuild> {
  await admin.query(
    `create or replace function slow_key(t text) returns text language plpgsql immutable as $$ begin perform pg_sleep(0.002); return t; end $$`,
  );
  await createTable(admin, table, rows);
  const builder = await openSession(url, 'pgrunbook:test-index');
  const built = builder.client.query(`create index concurrently ${index} on ${table} (slow_key(v))`).catch((e) => e);
  await waitFor(async () => {
    const r = await admin.query(`select phase, blocks_done, blocks_total from pg_stat_progress_create_index where pid = $1`, [builder.pid]);
    const p = r.rows[0];
    return p?.phase === 'building index: scanning table' && Number(p.blocks_done) > 0 && Number(p.blocks_done) < Number(p.blocks_total);
  }, 'CREATE INDEX CONCURRENTLY to be scanning the table');
  return {
    builder,
    index,
    cleanup: async () => {
      await admin.query('select pg_cancel_backend($1)', [builder.pid]);
      await built;
      await builder.client.end().catch(() => {});
      // A cancelled CONCURRENTLY build leaves an INVALID index behind.
      await admin.query(`drop index if exists ${index}`);
    },
  };
}
