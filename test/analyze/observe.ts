// Observes what a statement really does on PostgreSQL: the relation locks it takes (pg_locks), whether
// a table gets new storage (relfilenode before/after) and whether it is read by a sequential scan
// (pg_stat_xact_user_tables). Transactional statements run inside a transaction that is rolled back;
// the others (CONCURRENTLY, VACUUM) run in their own session, watched from a second one while
// blocker sessions hold them at each wait point. Shared by the test suite and the benchmark, so no
// vitest imports here.
import pg from 'pg';
import { LOCK_STRENGTH, type LockMode } from '../../src/pg/lock-modes.js';
import { analyzeSql } from '../../src/analyze/analyze-statements.js';
import { LiveCatalog } from '../../src/analyze/live-catalog.js';
import type { StatementAnalysis } from '../../src/analyze/analysis-types.js';
import { corpusFor, fixtureSql, FIXTURE_FINISH, type CorpusEntry } from './corpus.js';
import { PREPARE_SERVER } from './corpus-docs.js';

export interface FixtureRelation {
  oid: number;
  name: string;
  relkind: string;
  /** Rows at fixture time (reltuples after VACUUM ANALYZE). */
  rows: number;
}

export interface Observation {
  /** Strongest mode per fixture relation (tables, partitioned tables, views, matviews, sequences). */
  locks: Map<string, LockMode>;
  rewritten: string[];
  scanned: string[];
  transactional: boolean;
  error?: string;
}

export interface Comparison {
  entry: CorpusEntry;
  predicted: StatementAnalysis;
  observed: Observation;
  lock: boolean;
  rewrite: boolean;
  scan: boolean;
  transactional: boolean;
  /** Human-readable differences. */
  differences: string[];
}

export interface Agreement {
  lock: number;
  rewrite: number;
  scan: number;
  transactional: number;
  /** Statements right on all four. */
  all: number;
}

export interface CorpusResult {
  major: number;
  serverVersionNum: number;
  /** With the live catalog (analyze --db). */
  comparisons: Comparison[];
  agreement: Agreement;
  mismatches: string[];
  /** The same statements analyzed offline (--pg-version only), against the same observations. */
  offline: { comparisons: Comparison[]; agreement: Agreement; mismatches: string[] };
}

function agreementOf(comparisons: Comparison[]): Agreement {
  const pct = (f: (c: Comparison) => boolean) => (100 * comparisons.filter(f).length) / Math.max(1, comparisons.length);
  return {
    lock: pct((c) => c.lock),
    rewrite: pct((c) => c.rewrite),
    scan: pct((c) => c.scan),
    transactional: pct((c) => c.transactional),
    all: pct((c) => c.lock && c.rewrite && c.scan && c.transactional),
  };
}

const STORAGE_KINDS = new Set(['r', 'm']);

async function connect(url: string, opts: { applicationName?: string; options?: string } = {}): Promise<pg.Client> {
  const c = new pg.Client({
    connectionString: url,
    application_name: opts.applicationName ?? 'pgrunbook:observe',
    ...(opts.options ? { options: opts.options } : {}),
  });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export async function createFixture(url: string, major: number): Promise<FixtureRelation[]> {
  const c = await connect(url);
  try {
    const ts = await c.query(`SELECT 1 FROM pg_tablespace WHERE spcname = 'pgrb_space'`);
    if (ts.rowCount === 0) for (const q of PREPARE_SERVER) await c.query(q);
    await c.query(fixtureSql(major));
    await c.query(FIXTURE_FINISH);
    return await fixtureRelations(c);
  } finally {
    await c.end();
  }
}

async function fixtureRelations(c: pg.Client): Promise<FixtureRelation[]> {
  const r = await c.query(
    `SELECT oid::int8 AS oid, oid::regclass::text AS name, relkind::text AS relkind, greatest(reltuples, 0)::float8 AS rows FROM pg_class
      WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY 2`,
  );
  return r.rows.map((x) => ({ oid: Number(x.oid), name: x.name, relkind: x.relkind, rows: Number(x.rows) }));
}

async function filenodes(c: pg.Client, rels: FixtureRelation[]): Promise<Map<string, string | null>> {
  const r = await c.query(`SELECT o::int8 AS oid, pg_relation_filenode(o::oid)::text AS f FROM unnest($1::oid[]) o`, [
    rels.map((x) => x.oid),
  ]);
  const byOid = new Map(r.rows.map((x) => [Number(x.oid), x.f as string | null]));
  return new Map(rels.map((x) => [x.name, byOid.get(x.oid) ?? null]));
}

function strongestPerRelation(rows: { name: string; mode: string }[]): Map<string, LockMode> {
  const out = new Map<string, LockMode>();
  for (const r of rows) {
    const m = r.mode as LockMode;
    if (!(m in LOCK_STRENGTH)) continue;
    const cur = out.get(r.name);
    if (!cur || LOCK_STRENGTH[m] > LOCK_STRENGTH[cur]) out.set(r.name, m);
  }
  return out;
}

function rewrittenFrom(rels: FixtureRelation[], before: Map<string, string | null>, after: Map<string, string | null>): string[] {
  return rels
    .filter((r) => STORAGE_KINDS.has(r.relkind))
    .filter((r) => {
      const b = before.get(r.name);
      const a = after.get(r.name);
      return b !== null && a !== null && a !== undefined && a !== b;
    })
    .map((r) => r.name);
}

/** Runs one statement inside BEGIN ... ROLLBACK and records what it did. */
async function observeInTransaction(c: pg.Client, entry: CorpusEntry, rels: FixtureRelation[]): Promise<Observation | 'not-transactional'> {
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL lock_timeout = '10s'`);
    if (entry.timeZone) await c.query(`SET LOCAL TimeZone = '${entry.timeZone}'`);
    const before = await filenodes(c, rels);
    try {
      await c.query(entry.sql);
    } catch (err: any) {
      if (err?.code === '25001') return 'not-transactional';
      return { locks: new Map(), rewritten: [], scanned: [], transactional: true, error: `${err?.code}: ${err?.message}` };
    }
    const locks = await c.query(
      `SELECT l.relation::int8 AS oid, l.mode FROM pg_locks l
        WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.relation = ANY($1::oid[])`,
      [rels.map((r) => r.oid)],
    );
    const nameOf = new Map(rels.map((r) => [r.oid, r.name]));
    const scans = await c.query(
      `SELECT relid::int8 AS oid, seq_scan::int8 AS n, seq_tup_read::int8 AS tuples FROM pg_stat_xact_user_tables WHERE relid = ANY($1::oid[])`,
      [rels.map((r) => r.oid)],
    );
    const after = await filenodes(c, rels);
    const rewritten = rewrittenFrom(rels, before, after);
    const byOid = new Map(rels.map((r) => [r.oid, r.name]));
    // A rewrite reads the whole table too: it counts as a scan (the JSON contract reports both).
    const rowsOf = new Map(rels.map((r) => [r.oid, r.rows]));
    const scanned = scans.rows
      .filter((s) => readInFull(Number(s.n), Number(s.tuples), rowsOf.get(Number(s.oid)) ?? 0))
      .map((s) => byOid.get(Number(s.oid))!)
      .filter((n) => n);
    const named = locks.rows.map((l) => ({ name: nameOf.get(Number(l.oid))!, mode: l.mode }));
    return { locks: strongestPerRelation(named), rewritten, scanned, transactional: true };
  } finally {
    await c.query('ROLLBACK').catch(() => {});
  }
}

/**
 * The scan detector: a sequential scan started on the table and read rows from it. An index build
 * on storage that a TRUNCATE just emptied starts a scan that reads nothing: not a read of the
 * table. A table that had no rows counts when a scan starts.
 */
function readInFull(scans: number, tuples: number, rowsBefore: number): boolean {
  return scans > 0 && (tuples > 0 || rowsBefore === 0);
}

async function seqScans(c: pg.Client, rels: FixtureRelation[]): Promise<Map<number, { n: number; tuples: number }>> {
  await c.query('SELECT pg_stat_clear_snapshot()');
  const r = await c.query(
    `SELECT relid::int8 AS oid, seq_scan::int8 AS n, seq_tup_read::int8 AS tuples FROM pg_stat_user_tables WHERE relid = ANY($1::oid[])`,
    [rels.map((x) => x.oid)],
  );
  return new Map(r.rows.map((x) => [Number(x.oid), { n: Number(x.n), tuples: Number(x.tuples) }]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A statement that refuses to run in a transaction block: run it in its own session (A) and watch
 * its pg_locks rows from an observer. Blockers make every lock it takes visible while it waits:
 * one session per fixture table holds SHARE UPDATE EXCLUSIVE on it (so A's first request of that
 * strength or stronger on each table waits, and is seen), and a relay of REPEATABLE READ readers
 * holding ACCESS SHARE on every table stops A at its later wait points (older snapshots, lockers,
 * the ACCESS EXCLUSIVE of a second phase). pg_blocking_pids(A) says which blocker to let go next.
 */
async function observeOutsideTransaction(
  url: string,
  entry: CorpusEntry,
  rels: FixtureRelation[],
  major: number,
  locksOnly = false,
): Promise<Observation> {
  const observer = await connect(url, { applicationName: 'pgrunbook:observer' });
  const holds = new BlockerRelay(
    url,
    rels.filter((r) => r.relkind === 'r' || r.relkind === 'p'),
  );
  try {
    // PG14's statistics collector serves snapshots up to 500 ms old, and earlier (rolled back)
    // statements' scans are still being reported: let them settle before the baseline.
    if (major < 15 && !locksOnly) await sleep(650);
    const before = await filenodes(observer, rels);
    const scansBefore = await seqScans(observer, rels);
    await holds.start();

    const actor = await connect(url, {
      applicationName: 'pgrunbook:actor',
      options: `-c lock_timeout=15s${entry.timeZone ? ` -c TimeZone=${entry.timeZone}` : ''}`,
    });
    const pid: number = (await actor.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const outcome: { done: boolean; error?: string } = { done: false };
    const running = actor.query(entry.sql).then(
      () => {
        outcome.done = true;
      },
      (err: any) => {
        outcome.done = true;
        outcome.error = `${err?.code}: ${err?.message}`;
      },
    );
    const seen = await holds.watch(observer, pid, rels, () => outcome.done);
    await holds.releaseAll();
    await running;
    // Closing the session flushes its statistics.
    await actor.end().catch(() => {});
    const error = outcome.error;
    if (locksOnly)
      return { locks: strongestPerRelation(seen), rewritten: [], scanned: [], transactional: false, ...(error ? { error } : {}) };
    if (major < 15) await sleep(650);

    const after = await filenodes(observer, rels);
    const rewritten = rewrittenFrom(rels, before, after);
    const scanned = await scannedSince(observer, rels, scansBefore);
    return { locks: strongestPerRelation(seen), rewritten, scanned, transactional: false, ...(error ? { error } : {}) };
  } finally {
    await holds.releaseAll();
    if (entry.cleanup) await observer.query(entry.cleanup).catch(() => {});
    await observer.end().catch(() => {});
  }
}

/** The fixture relations read in full since `scansBefore`. Statistics reach shared memory when A ends (PG15+) or via the collector (PG14): poll briefly. */
async function scannedSince(
  observer: pg.Client,
  rels: FixtureRelation[],
  scansBefore: Map<number, { n: number; tuples: number }>,
): Promise<string[]> {
  let scansAfter = await seqScans(observer, rels);
  const changed = () => [...scansAfter].some(([oid, a]) => a.n > (scansBefore.get(oid)?.n ?? 0));
  for (let i = 0; i < 3 && !changed(); i++) {
    await sleep(100);
    scansAfter = await seqScans(observer, rels);
  }
  const rowsOf = new Map(rels.map((r) => [r.oid, r.rows]));
  const nameOf = new Map(rels.map((r) => [r.oid, r.name]));
  return [...scansAfter]
    .filter(([oid, a]) => {
      const b = scansBefore.get(oid) ?? { n: 0, tuples: 0 };
      return readInFull(a.n - b.n, a.tuples - b.tuples, rowsOf.get(oid) ?? 0);
    })
    .map(([oid]) => nameOf.get(oid)!)
    .filter((n) => n);
}

const release = async (c: pg.Client | undefined) => {
  if (!c) return;
  await c.query('ROLLBACK').catch(() => {});
  await c.end().catch(() => {});
};

/**
 * The sessions that hold the actor at each wait point (see observeOutsideTransaction): one
 * SHARE UPDATE EXCLUSIVE holder per table, and a relay of REPEATABLE READ readers.
 */
class BlockerRelay {
  private readonly blockers = new Map<number, pg.Client>();
  private readonly blockerTable = new Map<number, number>();
  private relay: { pid: number; client: pg.Client } | undefined;
  private spare: Promise<pg.Client> | undefined;
  private hops = 0;

  constructor(
    private readonly url: string,
    private readonly tables: FixtureRelation[],
  ) {}

  async start(): Promise<void> {
    await Promise.all(
      this.tables.map(async (t) => {
        const b = await connect(this.url, { applicationName: 'pgrunbook:blocker' });
        const pid = (await b.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
        await b.query(`BEGIN; LOCK TABLE ONLY ${t.name} IN SHARE UPDATE EXCLUSIVE MODE`);
        this.blockers.set(pid, b);
        this.blockerTable.set(pid, t.oid);
      }),
    );
    // Relays are connected ahead of time so a hand-over takes one round trip.
    this.relay = await this.park(await this.openRelay());
    this.spare = this.openRelay();
  }

  private openRelay(): Promise<pg.Client> {
    return connect(this.url, { applicationName: 'pgrunbook:blocker', options: '-c lock_timeout=100ms' });
  }

  private async park(c: pg.Client): Promise<{ pid: number; client: pg.Client }> {
    const tableArray = `ARRAY[${this.tables.map((t) => `'${t.name}'`).join(', ')}]::text[]`;
    const p = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await c.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ;
         DO $$ DECLARE r text; BEGIN
           FOREACH r IN ARRAY ${tableArray} LOOP
             BEGIN EXECUTE format('LOCK TABLE ONLY %s IN ACCESS SHARE MODE', r); EXCEPTION WHEN lock_not_available THEN NULL; END;
           END LOOP; END $$;`,
    );
    return { pid: p, client: c };
  }

  /** Samples the actor's relation locks until it is done (or 20 s), letting go of whichever of ours blocks it. */
  async watch(observer: pg.Client, pid: number, rels: FixtureRelation[], done: () => boolean): Promise<{ name: string; mode: string }[]> {
    const nameOf = new Map(rels.map((r) => [r.oid, r.name]));
    const oids = rels.map((r) => r.oid);
    const seen: { name: string; mode: string }[] = [];
    const deadline = Date.now() + 20_000;
    while (!done() && Date.now() < deadline) {
      const r = await observer.query(
        `SELECT l.relation::int8 AS oid, l.mode, l.granted, l.relation = ANY($2::oid[]) AS fixture, pg_blocking_pids($1) AS blocked_by
           FROM pg_locks l WHERE l.pid = $1 AND l.locktype = 'relation'`,
        [pid, oids],
      );
      for (const row of r.rows) if (row.fixture) seen.push({ name: nameOf.get(Number(row.oid))!, mode: row.mode });
      // pg_locks and pg_blocking_pids are not one snapshot: act only on waits this sample recorded.
      const waitingOn = new Set(r.rows.filter((x) => !x.granted).map((x) => Number(x.oid)));
      // Waits on a virtualxid (older snapshots, lockers) have no relation row: ask separately.
      const blockedBy: number[] = waitingOn.size
        ? (r.rows[0]?.blocked_by ?? [])
        : (await observer.query('SELECT pg_blocking_pids($1) AS b', [pid])).rows[0].b;
      if (process.env.PGRB_DEBUG) {
        const all = await observer.query(
          `SELECT locktype, relation::regclass::text AS rel, mode, granted, objid, classid FROM pg_locks WHERE pid = $1`,
          [pid],
        );
        console.log(Date.now() % 100000, JSON.stringify(all.rows), blockedBy);
      }
      if (blockedBy.length > 0) await this.letGo(blockedBy, waitingOn);
    }
    return seen;
  }

  /** Releases the table holders the actor waits on, else hands the relay over to a fresh reader. */
  private async letGo(blockedBy: number[], waitingOn: Set<number>): Promise<void> {
    const tableBlockers = blockedBy.filter((b) => this.blockers.has(b) && waitingOn.has(this.blockerTable.get(b)!));
    if (blockedBy.some((b) => this.blockers.has(b)) && tableBlockers.length === 0) return;
    if (tableBlockers.length) {
      for (const b of tableBlockers) {
        await release(this.blockers.get(b));
        this.blockers.delete(b);
      }
      return;
    }
    if (!this.relay || !blockedBy.includes(this.relay.pid)) {
      // Blocked by something that is not ours (autovacuum...): wait it out.
      await sleep(5);
      return;
    }
    const prev = this.relay;
    // Park a fresh reader that will hold A at its next wait point, then let the current one go.
    this.relay = ++this.hops <= 8 && this.spare ? await this.park(await this.spare) : undefined;
    if (this.relay) this.spare = this.openRelay();
    await release(prev.client);
  }

  async releaseAll(): Promise<void> {
    for (const b of this.blockers.values()) await release(b);
    this.blockers.clear();
    await release(this.relay?.client);
    this.relay = undefined;
    const spare = this.spare;
    this.spare = undefined;
    await (await spare?.catch(() => undefined))?.end().catch(() => {});
  }
}

export async function observe(url: string, entry: CorpusEntry, rels: FixtureRelation[], major: number): Promise<Observation> {
  const c = await connect(url);
  try {
    const r = await observeInTransaction(c, entry, rels);
    if (r !== 'not-transactional') return r;
  } finally {
    await c.end().catch(() => {});
  }
  // Phases that take a lock only briefly can slip between two samples on a busy machine: watch
  // such a statement twice and keep every lock either run saw (both are real observations).
  const first = await observeOutsideTransaction(url, entry, rels, major);
  const again = await observeOutsideTransaction(url, entry, rels, major, true);
  const locks = strongestPerRelation([...first.locks, ...again.locks].map(([name, mode]) => ({ name, mode })));
  return { ...first, locks, ...(first.error || again.error ? { error: first.error ?? again.error } : {}) };
}

export function compare(entry: CorpusEntry, predicted: StatementAnalysis, observed: Observation, rels: FixtureRelation[]): Comparison {
  const differences: string[] = [];
  const names = new Set(rels.map((r) => r.name));
  const predictedLocks = new Map<string, LockMode>();
  for (const l of predicted.locks) if (names.has(l.relation)) predictedLocks.set(l.relation, l.mode);
  let lock = true;
  for (const n of names) {
    const p = predictedLocks.get(n);
    const o = observed.locks.get(n);
    if (p !== o) {
      lock = false;
      differences.push(`lock on ${n}: predicted ${p ?? 'none'}, observed ${o ?? 'none'}`);
    }
  }
  const rewrite = predicted.rewrite === observed.rewritten.length > 0;
  if (!rewrite) differences.push(`rewrite: predicted ${predicted.rewrite}, observed ${observed.rewritten.join(', ') || 'none'}`);
  const scan = predicted.tableScan === observed.scanned.length > 0;
  if (!scan) differences.push(`scan: predicted ${predicted.tableScan}, observed ${observed.scanned.join(', ') || 'none'}`);
  const transactional = predicted.transactional === observed.transactional;
  if (!transactional) differences.push(`transactional: predicted ${predicted.transactional}, observed ${observed.transactional}`);
  if (observed.error) differences.unshift(`the statement failed: ${observed.error}`);
  return {
    entry,
    predicted,
    observed,
    lock: lock && !observed.error,
    rewrite: rewrite && !observed.error,
    scan: scan && !observed.error,
    transactional,
    differences,
  };
}

/** Fresh database on `adminUrl`'s server, fixture, every corpus statement analyzed then observed. */
export async function runCorpus(opts: { url: string; major: number; only?: string[] }): Promise<CorpusResult> {
  const rels = await createFixture(opts.url, opts.major);
  const pool = new pg.Pool({ connectionString: opts.url, max: 2, application_name: 'pgrunbook:analyze' });
  pool.on('error', () => {});
  const comparisons: Comparison[] = [];
  const offline: Comparison[] = [];
  try {
    const v = await pool.query(`SELECT current_setting('server_version_num')::int AS n, current_setting('TimeZone') AS tz`);
    const serverVersionNum: number = v.rows[0].n;
    for (const entry of corpusFor(opts.major)) {
      if (opts.only && !opts.only.includes(entry.id)) continue;
      // A fresh catalog per statement: each one runs on the untouched fixture.
      const report = await analyzeSql(entry.sql, {
        catalog: new LiveCatalog(pool),
        serverVersionNum,
        versionSource: 'server',
        timeZone: entry.timeZone ?? v.rows[0].tz,
        squawk: false,
      });
      const predicted = report.statements[0]!;
      const offlineReport = await analyzeSql(entry.sql, {
        serverVersionNum,
        versionSource: '--pg-version',
        timeZone: entry.timeZone,
        squawk: false,
      });
      const observed = await observe(opts.url, entry, rels, opts.major);
      comparisons.push(compare(entry, predicted, observed, rels));
      offline.push(compare(entry, offlineReport.statements[0]!, observed, rels));
    }
    const mismatchesOf = (cs: Comparison[]) =>
      cs.filter((c) => c.differences.length).map((c) => `PG${opts.major} ${c.entry.id}: ${c.differences.join('; ')}`);
    return {
      major: opts.major,
      serverVersionNum,
      comparisons,
      agreement: agreementOf(comparisons),
      mismatches: mismatchesOf(comparisons),
      offline: { comparisons: offline, agreement: agreementOf(offline), mismatches: mismatchesOf(offline) },
    };
  } finally {
    await pool.end();
  }
}
