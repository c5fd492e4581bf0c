// Read-only catalog introspection for `analyze --db` and `plan`. Only pg_catalog and statistics
// views are read; nothing here takes a lock on a user table except the size functions, which are
// skipped for any relation with an ACCESS EXCLUSIVE lock granted or pending (DESIGN §6).
import type pg from 'pg';
import { loadParser, parseStatements } from './sqlparse.js';
import { columnsIn, provesNotNull } from '../analyze/ast.js';
import type {
  Catalog,
  ColumnInfo,
  ConstraintInfo,
  ConstraintType,
  IncomingForeignKey,
  IndexInfo,
  IndexOwner,
  RelKind,
  TableInfo,
  Volatility,
} from '../analyze/analysis-catalog.js';
import { quoteIdent } from './connection.js';

export interface Queryable {
  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Session settings for introspection connections: never write, never wait long. */
export const INTROSPECTION_SESSION = {
  default_transaction_read_only: 'on',
  lock_timeout: '1s',
  statement_timeout: '15s',
} as const;

export function qualifiedText(schema: string | undefined, name: string): string {
  return schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name);
}

/** varchar(50) -> [50], numeric(10,2) -> [10, 2], timestamp(3) with time zone -> [3]. */
export function modsFromFormatType(text: string): number[] {
  const m = /\((-?\d+(?:\s*,\s*-?\d+)*)\)/.exec(text);
  return m ? m[1]!.split(',').map((s) => Number(s.trim())) : [];
}

const CONTYPE: Record<string, ConstraintType> = {
  c: 'check',
  f: 'foreign key',
  p: 'primary key',
  u: 'unique',
  x: 'exclusion',
  n: 'not null',
  t: 'trigger',
};

const VOL: Record<string, Volatility> = { i: 'immutable', s: 'stable', v: 'volatile' };
const VOL_RANK: Record<Volatility, number> = { immutable: 0, stable: 1, volatile: 2 };

/** The analyzer's view of a live database. Every call is one small catalog query. */
export class LiveCatalog implements Catalog {
  readonly live = true;
  private fnCache = new Map<string, Volatility | undefined>();

  constructor(private readonly db: Queryable) {}

  async relation(schema: string | undefined, name: string): Promise<TableInfo | undefined> {
    await loadParser();
    const r = await this.db.query(
      `SELECT c.oid::int8 AS oid, c.oid::regclass::text AS name, c.relkind, c.relpersistence, c.relispartition,
              c.reltuples::float8 AS reltuples, s.n_live_tup::float8 AS n_live_tup,
              (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid LIMIT 1) AS parent
         FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
        WHERE c.oid = to_regclass($1)`,
      [qualifiedText(schema, name)],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const oid = Number(row.oid);
    const [cols, cons, idx, children, incoming, reads, dependents, triggers] = await Promise.all([
      this.columns(oid),
      this.constraints(oid),
      this.indexes(oid),
      this.children(oid),
      this.incomingForeignKeys(oid),
      row.relkind === 'v' || row.relkind === 'm' ? this.viewReads(oid) : Promise.resolve(undefined),
      this.dependentViews(oid),
      this.db.query(`SELECT tgname::text AS name, tgisinternal AS internal FROM pg_trigger WHERE tgrelid = $1`, [oid]).then((r) => r.rows as { name: string; internal: boolean }[]),
    ]);
    const estimatedRows = row.reltuples >= 0 ? Number(row.reltuples) : row.n_live_tup !== null ? Number(row.n_live_tup) : undefined;
    return {
      name: row.name,
      relkind: row.relkind as RelKind,
      persistence: row.relpersistence,
      columns: cols,
      constraints: cons,
      indexes: idx,
      partitions: children.partitions,
      leafPartitions: children.leaves,
      ...(children.defaultPartition ? { defaultPartition: children.defaultPartition } : {}),
      ...(row.relispartition && row.parent ? { partitionOf: row.parent } : {}),
      inheritanceChildren: children.inheritance,
      incomingForeignKeys: incoming,
      ...(reads ? { viewReads: reads } : {}),
      dependentViews: dependents,
      triggers,
      ...(estimatedRows !== undefined ? { estimatedRows } : {}),
    };
  }

  private async columns(oid: number): Promise<Map<string, ColumnInfo>> {
    const r = await this.db.query(
      `SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname::text AS typname,
              n.nspname::text AS typschema, a.attnotnull, a.attidentity <> '' AS identity, a.attgenerated <> '' AS generated,
              (t.typtype = 'd' AND (t.typnotnull OR EXISTS (SELECT 1 FROM pg_constraint d WHERE d.contypid = t.oid))) AS domain_constrained
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    );
    const out = new Map<string, ColumnInfo>();
    for (const c of r.rows) {
      out.set(c.name, {
        name: c.name,
        type: c.type,
        typname: c.typname,
        typschema: c.typschema,
        mods: modsFromFormatType(c.type),
        notNull: c.attnotnull,
        domainWithConstraints: c.domain_constrained,
        identity: c.identity,
        generated: c.generated,
      });
    }
    return out;
  }

  private async constraints(oid: number): Promise<Map<string, ConstraintInfo>> {
    const r = await this.db.query(
      `SELECT con.conname::text AS name, con.contype::text AS contype, con.convalidated,
              ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols,
              CASE WHEN con.confrelid <> 0 THEN con.confrelid::regclass::text END AS reftable,
              ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) AS refcols,
              CASE WHEN con.conindid <> 0 THEN con.conindid::regclass::text END AS index,
              pg_get_constraintdef(con.oid) AS def
         FROM pg_constraint con WHERE con.conrelid = $1`,
      [oid],
    );
    const out = new Map<string, ConstraintInfo>();
    for (const c of r.rows) {
      const type = CONTYPE[c.contype] ?? 'check';
      let proves: string[] = [];
      let cols: string[] = c.cols ?? [];
      if (type === 'check') {
        const expr = checkExpression(c.def);
        if (expr) {
          proves = provesNotNull(expr);
          cols = columnsIn(expr);
        }
      } else if (type === 'not null') proves = cols;
      out.set(c.name, {
        name: c.name,
        type,
        validated: c.convalidated,
        columns: cols,
        provesNotNull: proves,
        ...(c.reftable ? { refTable: c.reftable, refColumns: c.refcols ?? [] } : {}),
        ...(c.index ? { index: c.index } : {}),
      });
    }
    return out;
  }

  private async indexes(oid: number): Promise<Map<string, IndexInfo>> {
    const r = await this.db.query(
      `SELECT i.indexrelid::regclass::text AS name, ic.relname::text AS short, i.indisunique, i.indisprimary, i.indisvalid, i.indisready,
              ARRAY(SELECT coalesce(a.attname::text, '(expression)') FROM unnest(string_to_array(i.indkey::text, ' ')::int2[]) WITH ORDINALITY k(n, o)
                      LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS cols,
              (SELECT con.conname::text FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                  AND con.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint_name
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = $1`,
      [oid],
    );
    const out = new Map<string, IndexInfo>();
    for (const i of r.rows) {
      out.set(i.short, {
        name: i.name,
        columns: i.cols ?? [],
        unique: i.indisunique,
        primary: i.indisprimary,
        valid: i.indisvalid,
        ready: i.indisready,
        ...(i.constraint_name ? { constraint: i.constraint_name } : {}),
      });
    }
    return out;
  }

  private async children(oid: number): Promise<{ partitions: string[]; leaves: string[]; inheritance: string[]; defaultPartition?: string }> {
    const r = await this.db.query(
      `WITH RECURSIVE tree(oid, parent, depth) AS (
         SELECT inhrelid, inhparent, 1 FROM pg_inherits WHERE inhparent = $1
         UNION ALL SELECT i.inhrelid, i.inhparent, t.depth + 1 FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid WHERE t.depth < 20)
       SELECT c.oid::regclass::text AS name, c.relkind::text AS relkind, c.relispartition, t.parent = $1 AS direct,
              pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default
         FROM tree t JOIN pg_class c ON c.oid = t.oid ORDER BY t.depth, c.oid`,
      [oid],
    );
    const partitions: string[] = [];
    const leaves: string[] = [];
    const inheritance: string[] = [];
    let defaultPartition: string | undefined;
    for (const c of r.rows) {
      if (c.relispartition) {
        partitions.push(c.name);
        if (c.relkind !== 'p') leaves.push(c.name);
        if (c.direct && c.is_default) defaultPartition = c.name;
      } else inheritance.push(c.name);
    }
    return { partitions, leaves, inheritance, ...(defaultPartition ? { defaultPartition } : {}) };
  }

  private async incomingForeignKeys(oid: number): Promise<IncomingForeignKey[]> {
    const r = await this.db.query(
      `SELECT con.conrelid::regclass::text AS tbl, con.conname::text AS name, con.confdeltype::text AS ondelete,
              ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols,
              ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) AS refcols,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = con.conrelid AND i.indisvalid
                        AND (SELECT array_agg(x ORDER BY x) FROM unnest((string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(con.conkey)]) x)
                          = (SELECT array_agg(x ORDER BY x) FROM unnest(con.conkey) x)) AS indexed
         FROM pg_constraint con
        WHERE con.confrelid = $1 AND con.contype = 'f' AND con.conparentid = 0`,
      [oid],
    );
    return r.rows.map((c) => ({ table: c.tbl, constraint: c.name, columns: c.cols ?? [], refColumns: c.refcols ?? [], indexed: c.indexed, onDelete: c.ondelete }));
  }

  private async viewReads(oid: number): Promise<string[]> {
    const r = await this.db.query(
      `SELECT DISTINCT d.refobjid::regclass::text AS name
         FROM pg_rewrite rw JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
         JOIN pg_class c ON c.oid = d.refobjid
        WHERE rw.ev_class = $1 AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
      [oid],
    );
    return r.rows.map((x) => x.name);
  }

  private async dependentViews(oid: number): Promise<string[]> {
    const r = await this.db.query(
      `WITH RECURSIVE deps(oid, depth) AS (
         SELECT DISTINCT rw.ev_class, 1 FROM pg_depend d JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
          WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND rw.ev_class <> $1
         UNION
         SELECT rw.ev_class, deps.depth + 1 FROM deps JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = deps.oid
           JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
          WHERE rw.ev_class <> deps.oid AND deps.depth < 10)
       SELECT DISTINCT oid::regclass::text AS name FROM deps`,
      [oid],
    );
    return r.rows.map((x) => x.name);
  }

  async indexOwner(schema: string | undefined, name: string): Promise<IndexOwner | undefined> {
    const r = await this.db.query(
      `SELECT i.indexrelid::regclass::text AS idx, i.indrelid::regclass::text AS tbl, t.relkind::text AS relkind, ic.relkind = 'I' AS partitioned,
              i.indisvalid, (SELECT con.conname::text FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                               AND con.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint_name
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
        WHERE i.indexrelid = to_regclass($1)`,
      [qualifiedText(schema, name)],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    return {
      index: row.idx,
      table: row.tbl,
      tableKind: row.relkind,
      partitioned: row.partitioned,
      valid: row.indisvalid,
      ...(row.constraint_name ? { constraint: row.constraint_name } : {}),
    };
  }

  async functionVolatility(schema: string | undefined, name: string, nargs: number): Promise<Volatility | undefined> {
    const key = `${schema ?? ''}.${name}/${nargs}`;
    if (this.fnCache.has(key)) return this.fnCache.get(key);
    const r = await this.db.query<{ provolatile: string; fits: boolean }>(
      `SELECT p.provolatile::text AS provolatile,
              (p.pronargs = $3 OR (p.provariadic <> 0 AND p.pronargs <= $3 + 1) OR (p.pronargs >= $3 AND p.pronargs - p.pronargdefaults <= $3)) AS fits
         FROM pg_proc p
        WHERE p.proname = $1
          AND ($2::text IS NULL AND p.pronamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY (current_schemas(true)))
               OR p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $2::text))`,
      [name, schema ?? null, nargs],
    );
    const fitting = r.rows.filter((x) => x.fits);
    const rows = fitting.length ? fitting : r.rows;
    let worst: Volatility | undefined;
    for (const x of rows) {
      const v = VOL[x.provolatile];
      if (v && (!worst || VOL_RANK[v] > VOL_RANK[worst])) worst = v;
    }
    this.fnCache.set(key, worst);
    return worst;
  }

  async castMethod(source: string, target: string): Promise<'b' | 'f' | 'i' | undefined> {
    const r = await this.db.query<{ m: string }>(
      `SELECT castmethod::text AS m FROM pg_cast WHERE castsource = to_regtype($1) AND casttarget = to_regtype($2)`,
      [source, target],
    );
    const m = r.rows[0]?.m;
    return m === 'b' || m === 'f' || m === 'i' ? m : undefined;
  }

  async typeIsConstrainedDomain(schema: string | undefined, name: string): Promise<boolean | undefined> {
    const r = await this.db.query<{ d: boolean }>(
      `SELECT (t.typtype = 'd' AND (t.typnotnull OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contypid = t.oid))) AS d
         FROM pg_type t WHERE t.oid = to_regtype($1)`,
      [qualifiedText(schema, name)],
    );
    return r.rows[0]?.d;
  }
}

/** The expression of `CHECK (...)` as printed by pg_get_constraintdef, parsed with the real parser. */
function checkExpression(def: string): any {
  try {
    const stmt = parseStatements(`ALTER TABLE x ADD CONSTRAINT c ${def.replace(/\s+NOT VALID\s*$/i, '')}`)[0];
    return stmt?.ast?.cmds?.[0]?.AlterTableCmd?.def?.Constraint?.raw_expr;
  } catch {
    return undefined;
  }
}

// -- server and table facts for `plan` ---------------------------------------------------------

export interface ServerFacts {
  version: string;
  versionNum: number;
  timeZone: string;
  inRecovery: boolean;
  standbys: { name: string; clientAddr: string | null; state: string | null; syncState: string | null; lagBytes: number | null; replayLagSeconds: number | null }[];
  slots: { name: string; type: string; active: boolean; retainedBytes: number | null; walStatus: string | null }[];
  longTransactions: { pid: number; user: string | null; application: string | null; state: string | null; xactSeconds: number; query: string }[];
  settings: { name: string; setting: string; unit: string | null }[];
  /** Probes that could not run (privileges...), with the reason. */
  unavailable: string[];
}

const PLAN_SETTINGS = [
  'lock_timeout',
  'statement_timeout',
  'idle_in_transaction_session_timeout',
  'deadlock_timeout',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'max_wal_size',
  'checkpoint_timeout',
  'wal_level',
  'synchronous_commit',
  'synchronous_standby_names',
  'hot_standby_feedback',
  'autovacuum',
  'max_locks_per_transaction',
  'shared_buffers',
];

export async function serverFacts(db: Queryable, opts: { longTxSeconds?: number } = {}): Promise<ServerFacts> {
  const unavailable: string[] = [];
  const v = await db.query(
    `SELECT current_setting('server_version') AS v, current_setting('server_version_num')::int AS n, current_setting('TimeZone') AS tz, pg_is_in_recovery() AS rec`,
  );
  const base = v.rows[0];
  const tryQuery = async <R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[] = []): Promise<R[]> => {
    try {
      return (await db.query<R>(sql, params)).rows;
    } catch (err) {
      unavailable.push(`${what}: ${(err as Error).message}`);
      return [];
    }
  };
  const standbys = base.rec
    ? []
    : await tryQuery<any>(
        'standbys (pg_stat_replication)',
        `SELECT application_name AS name, client_addr::text AS addr, state, sync_state,
                pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS lag_bytes, extract(epoch FROM replay_lag)::float8 AS replay_lag
           FROM pg_stat_replication`,
      );
  const slots = await tryQuery<any>(
    'replication slots',
    `SELECT slot_name::text AS name, slot_type AS type, active, wal_status,
            CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 END AS retained
       FROM pg_replication_slots`,
  );
  const long = await tryQuery<any>(
    'long-running transactions',
    `SELECT pid, usename::text AS usr, application_name AS app, state, extract(epoch FROM now() - xact_start)::float8 AS secs, left(query, 200) AS query
       FROM pg_stat_activity
      WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        AND now() - xact_start > make_interval(secs => $1)
      ORDER BY xact_start LIMIT 20`,
    [opts.longTxSeconds ?? 60],
  );
  const settings = await tryQuery<any>('settings', `SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1) ORDER BY name`, [PLAN_SETTINGS]);
  return {
    version: base.v,
    versionNum: Number(base.n),
    timeZone: base.tz,
    inRecovery: base.rec,
    standbys: standbys.map((s) => ({
      name: s.name,
      clientAddr: s.addr,
      state: s.state,
      syncState: s.sync_state,
      lagBytes: s.lag_bytes === null ? null : Number(s.lag_bytes),
      replayLagSeconds: s.replay_lag === null ? null : Number(s.replay_lag),
    })),
    slots: slots.map((s) => ({ name: s.name, type: s.type, active: s.active, retainedBytes: s.retained === null ? null : Number(s.retained), walStatus: s.wal_status ?? null })),
    longTransactions: long.map((l) => ({ pid: l.pid, user: l.usr, application: l.app, state: l.state, xactSeconds: Number(l.secs), query: l.query })),
    settings: settings.map((s) => ({ name: s.name, setting: s.setting, unit: s.unit })),
    unavailable,
  };
}

export interface TableFacts {
  name: string;
  relkind: RelKind;
  /** Bytes: heap + indexes + TOAST. */
  totalBytes: number;
  tableBytes: number;
  indexBytes: number;
  /** Where the sizes came from: the size functions, or relpages (when a lock made the functions unsafe). */
  sizeSource: 'functions' | 'relpages';
  reltuples: number | null;
  liveTuples: number | null;
  deadTuples: number | null;
  /** Best row estimate: reltuples, else n_live_tup. */
  estimatedRows: number | null;
  /** Average row width in bytes (pg_stats when analyzed, else size / rows). */
  avgRowWidth: number | null;
  lastAnalyze: string | null;
  lastAutovacuum: string | null;
  indexes: { name: string; definition: string; valid: boolean; ready: boolean; unique: boolean; primary: boolean; bytes: number }[];
  foreignKeysOut: { name: string; references: string; definition: string; validated: boolean }[];
  foreignKeysIn: { name: string; from: string; definition: string; indexed: boolean }[];
  triggers: { name: string; enabled: string; definition: string }[];
  dependentViews: { name: string; kind: 'view' | 'materialized view' }[];
  partitions: number;
  /** An ACCESS EXCLUSIVE lock on it is granted or pending right now. */
  accessExclusiveNow: boolean;
  /** pg_catalog / information_schema / pg_toast relation. */
  systemCatalog: boolean;
}

export async function tableFacts(db: Queryable, name: string): Promise<TableFacts | undefined> {
  const head = await db.query(
    `SELECT c.oid::int8 AS oid, c.oid::regclass::text AS name, c.relkind::text AS relkind, c.relpages::float8 AS relpages,
            c.reltuples::float8 AS reltuples, s.n_live_tup::float8 AS live, s.n_dead_tup::float8 AS dead,
            (SELECT nspname IN ('pg_catalog', 'information_schema', 'pg_toast') FROM pg_namespace WHERE oid = c.relnamespace) AS syscat,
            s.last_analyze, s.last_autoanalyze, s.last_autovacuum,
            current_setting('block_size')::int AS bs,
            EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = c.oid AND l.mode = 'AccessExclusiveLock') AS ael,
            (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)::int AS parts,
            (SELECT sum(st.avg_width)::float8 FROM pg_stats st JOIN pg_namespace n ON n.nspname = st.schemaname
               WHERE n.oid = c.relnamespace AND st.tablename = c.relname) AS width
       FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
      WHERE c.oid = to_regclass($1)`,
    [name],
  );
  const h = head.rows[0];
  if (!h) return undefined;
  const oid = Number(h.oid);
  const bs = Number(h.bs);
  // Descendants' pages count for partitioned tables.
  const pagesQ = await db.query(
    `WITH RECURSIVE tree(oid) AS (SELECT $1::oid UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
     SELECT coalesce(sum(c.relpages), 0)::float8 AS heap,
            coalesce((SELECT sum(ic.relpages) FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid IN (SELECT oid FROM tree)), 0)::float8 AS idx,
            coalesce(sum(tc.relpages), 0)::float8 AS toast,
            coalesce(sum(CASE WHEN c.reltuples >= 0 THEN c.reltuples END), 0)::float8 AS tuples,
            bool_or(EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = c.oid AND l.mode = 'AccessExclusiveLock')) AS ael
       FROM tree t JOIN pg_class c ON c.oid = t.oid LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid`,
    [oid],
  );
  const pages = pagesQ.rows[0];
  const ael: boolean = h.ael || pages.ael;
  let tableBytes = (Number(pages.heap) + Number(pages.toast)) * bs;
  let indexBytes = Number(pages.idx) * bs;
  let sizeSource: TableFacts['sizeSource'] = 'relpages';
  if (!ael) {
    try {
      const sz = await db.query(
        `WITH RECURSIVE tree(oid) AS (SELECT $1::oid UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
         SELECT coalesce(sum(pg_table_size(oid)), 0)::float8 AS t, coalesce(sum(pg_indexes_size(oid)), 0)::float8 AS i FROM tree`,
        [oid],
      );
      tableBytes = Number(sz.rows[0].t);
      indexBytes = Number(sz.rows[0].i);
      sizeSource = 'functions';
    } catch {
      /* lock_timeout or privileges: keep the relpages estimate */
    }
  }
  const isPartitioned = h.relkind === 'p';
  const reltuples = isPartitioned ? Number(pages.tuples) : h.reltuples >= 0 ? Number(h.reltuples) : null;
  const live = h.live === null ? null : Number(h.live);
  const estimatedRows = reltuples !== null && (reltuples > 0 || live === null || live === 0) ? reltuples : live;
  const avgRowWidth = h.width !== null ? Number(h.width) : estimatedRows ? Math.round(tableBytes / Math.max(1, estimatedRows)) : null;

  const [indexes, fkOut, fkIn, triggers, views] = await Promise.all([
    db.query(
      // pg_get_indexdef() locks the index's table: skip it while an ACCESS EXCLUSIVE lock is held or queued.
      `SELECT x.indexrelid::regclass::text AS name, ${ael ? `'(definition not read: the table is ACCESS EXCLUSIVE locked)'` : 'pg_get_indexdef(x.indexrelid)'} AS def, x.indisvalid, x.indisready, x.indisunique, x.indisprimary,
              (ic.relpages::float8 * current_setting('block_size')::int) AS bytes
         FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = $1 ORDER BY 1`,
      [oid],
    ),
    db.query(
      `SELECT conname::text AS name, confrelid::regclass::text AS ref, pg_get_constraintdef(oid) AS def, convalidated
         FROM pg_constraint WHERE conrelid = $1 AND contype = 'f' ORDER BY 1`,
      [oid],
    ),
    db.query(
      `SELECT con.conname::text AS name, con.conrelid::regclass::text AS src, pg_get_constraintdef(con.oid) AS def,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = con.conrelid AND i.indisvalid
                        AND (SELECT array_agg(x ORDER BY x) FROM unnest((string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(con.conkey)]) x)
                          = (SELECT array_agg(x ORDER BY x) FROM unnest(con.conkey) x)) AS indexed
         FROM pg_constraint con WHERE con.confrelid = $1 AND con.contype = 'f' AND con.conparentid = 0 ORDER BY 1`,
      [oid],
    ),
    db.query(
      `SELECT tgname::text AS name, tgenabled::text AS enabled, pg_get_triggerdef(oid) AS def
         FROM pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal ORDER BY 1`,
      [oid],
    ),
    db.query(
      `SELECT DISTINCT v.oid::regclass::text AS name, v.relkind::text AS relkind
         FROM pg_depend d JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
         JOIN pg_class v ON v.oid = rw.ev_class
        WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND v.oid <> $1 ORDER BY 1`,
      [oid],
    ),
  ]);
  const enabledText: Record<string, string> = { O: 'enabled', D: 'disabled', R: 'replica only', A: 'always' };
  return {
    name: h.name,
    relkind: h.relkind,
    totalBytes: tableBytes + indexBytes,
    tableBytes,
    indexBytes,
    sizeSource,
    reltuples,
    liveTuples: live,
    deadTuples: h.dead === null ? null : Number(h.dead),
    estimatedRows,
    avgRowWidth,
    lastAnalyze: (h.last_analyze ?? h.last_autoanalyze)?.toISOString?.() ?? null,
    lastAutovacuum: h.last_autovacuum?.toISOString?.() ?? null,
    indexes: indexes.rows.map((i) => ({ name: i.name, definition: i.def, valid: i.indisvalid, ready: i.indisready, unique: i.indisunique, primary: i.indisprimary, bytes: Number(i.bytes) })),
    foreignKeysOut: fkOut.rows.map((f) => ({ name: f.name, references: f.ref, definition: f.def, validated: f.convalidated })),
    foreignKeysIn: fkIn.rows.map((f) => ({ name: f.name, from: f.src, definition: f.def, indexed: f.indexed })),
    triggers: triggers.rows.map((t) => ({ name: t.name, enabled: enabledText[t.enabled] ?? t.enabled, definition: t.def })),
    dependentViews: views.rows.map((v) => ({ name: v.name, kind: v.relkind === 'm' ? 'materialized view' : 'view' })),
    partitions: Number(h.parts),
    accessExclusiveNow: ael,
    systemCatalog: !!h.syscat,
  };
}
