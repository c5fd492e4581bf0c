// Copies what a rehearsal needs from the source into the sandbox, reading the source only:
//  1. schema (pre-data) of the table set via `pg_dump --schema-only`, falling back to the whole
//     database's schema when the tables need types, functions or schemas outside the set; or, when
//     no pg_dump can dump the server (or when asked), from the source's catalog (catalogDump.ts),
//     read inside the same snapshot;
//  2. a data sample streamed with COPY, from one REPEATABLE READ READ ONLY snapshot that pg_dump
//     shares (slices.ts): whole key groups of a touched table's repeated index key, so that index
//     keeps the source's rows per key; else slices of the primary key (what a backfill's batches
//     see); TABLESAMPLE SYSTEM (big) or BERNOULLI (small) for tables without a key; everything for
//     tiny lookup tables. Rows referenced by FKs are fetched so the constraints hold, orphans dropped;
//  3. sequences set past the source's values; then post-data (indexes, constraints, triggers),
//     so indexes are built once on the sample; then VACUUM ANALYZE for realistic plans.
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';
import copyStreams from 'pg-copy-streams';
import { RunbookError } from '../util/runbook-error.js';
import { quoteIdent, quoteLiteral } from '../pg/connection.js';
import { redact } from '../util/secrets.js';
import { sqlText } from '../pg/sql-files.js';
import { applyCatalogSection, readCatalogSchema } from './catalog-dump.js';
import type { CatalogDump } from './catalog-dump-build.js';
import { dumpSchema, findPgDump, type FindPgDumpOptions, type PgDumpBinary } from './pgdump.js';
import { readOnlySourceClient } from './source-read-only.js';
import { SAMPLE_CHOICES, type SampleChoice } from './sample-arg.js';
import { chooseSliceKey, planSlices, sliceEndSql, slicesSelectSql, uniqueSliceKey, type SliceKey, type SliceRange } from './slices.js';
import { resolveTableSet, type TableInSet, type TableRole } from './tables.js';
import type { ForeignKeyFacts } from '../pg/catalog/catalog-types.js';
import { watchSession } from '../pg/stall-watchdog.js';

const { to: copyTo, from: copyFrom } = copyStreams;

/** Tables at or under this estimate are copied whole (lookup tables: FKs then resolve for free). */
export const SMALL_TABLE_ROWS = 1000;
/** Above this many heap pages TABLESAMPLE SYSTEM (block sampling) is used: it reads only the sampled blocks. */
const SYSTEM_SAMPLE_MIN_PAGES = 1000;
const KEY_CHUNK = 2000;

const cloneSql = (name: string): string => sqlText('rehearsal/sql', name);

export { SAMPLE_CHOICES, type SampleChoice };

export type SampleMethod = 'all' | 'key-groups' | 'slices' | 'system' | 'bernoulli' | 'referenced' | 'schema-only';

export interface TableSample {
  oid: number;
  table: string;
  role: TableRole;
  relkind: string;
  method: SampleMethod;
  /** Source size from the catalog (reltuples / relpages): estimates, never count(*). */
  sourceRows: number | null;
  sourceBytes: number;
  sourceIndexBytes: number;
  /** Exact, in the sandbox after the copy. */
  sampleRows: number;
  sampleBytes: number;
  /** Rows added to satisfy FKs from other sampled tables. */
  referencedRowsAdded: number;
  orphansDeleted: number;
  /** Keyset slices copied, the index whose key they run over and, for key groups, its rows per key on the source. */
  slices?: { count: number; index: string; rowsPerKey?: number };
}

export interface CloneResult {
  tables: TableSample[];
  fks: ForeignKeyFacts[];
  /** Names in the runbook that do not exist on the source yet (created by the deploy). */
  missing: string[];
  schemaScope: 'tables' | 'database';
  /** Where the schema came from: pg_dump, or the source's catalog (no pg_dump could dump the server, or asked for). */
  schemaFrom: 'pg_dump' | 'catalog';
  samplePct: number;
  /** The pg_dump used, or a description of the catalog copy. */
  pgDump: string;
  snapshot: string | null;
  warnings: string[];
  durationMs: number;
}

export interface CloneOptions {
  sourceUrl: string | undefined;
  sandboxUrl: string;
  sourceMajor: number;
  /** Relation names the deploy touches (see touchedRelationNames). */
  tableNames: string[];
  /** Percent of each big table to copy, 0 < pct ≤ 100. */
  samplePct: number;
  pgDump?: FindPgDumpOptions;
  /** pg_dump, catalog, or auto (default): pg_dump when one can dump the source, else the catalog. */
  schemaFrom?: SchemaFrom;
  /** auto (default), slices or tablesample. */
  sampleMethod?: SampleChoice;
  /** TABLESAMPLE REPEATABLE seed: the same sample on every rehearsal. */
  seed?: number;
  /** Rows per keyset slice aimed at (default SLICE_ROWS, 25k: several backfill batches). */
  sliceRows?: number;
  log?: (message: string) => void;
}

export type SchemaFrom = 'pg_dump' | 'catalog' | 'auto';
export const SCHEMA_FROM: readonly SchemaFrom[] = ['pg_dump', 'catalog', 'auto'];
/** How the schema will be copied; `reason` says why auto chose the catalog. */
export type SchemaSource = { kind: 'pg_dump'; bin: PgDumpBinary } | { kind: 'catalog'; reason?: string };

/**
 * Decides before anything is started: `pg_dump` fails with the package to install when none fits;
 * `auto` falls back to the catalog copy then, saying why.
 */
export async function chooseSchemaSource(sourceMajor: number, from: SchemaFrom = 'auto', opts?: FindPgDumpOptions): Promise<SchemaSource> {
  if (!SCHEMA_FROM.includes(from))
    throw new RunbookError(`schema source must be one of ${SCHEMA_FROM.join(', ')}, got "${String(from)}"`, { exitCode: 2 });
  if (from === 'catalog') return { kind: 'catalog' };
  if (from === 'pg_dump') return { kind: 'pg_dump', bin: await findPgDump(sourceMajor, opts) };
  try {
    return { kind: 'pg_dump', bin: await findPgDump(sourceMajor, opts) };
  } catch (err) {
    if (err instanceof RunbookError) return { kind: 'catalog', reason: err.message };
    throw err;
  }
}

export async function cloneSample(opts: CloneOptions, bin?: PgDumpBinary | SchemaSource): Promise<CloneResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const choice = checkSampleOptions(opts);
  const warnings: string[] = [];
  const pgDump = await pgDumpToUse(opts, bin, log, warnings);
  const source = readOnlySourceClient(opts.sourceUrl);
  const sandbox = new pg.Client({ ...clientConfig(opts.sandboxUrl), application_name: 'pgrunbook-rehearsal:clone' });
  watchSession(sandbox, opts.sandboxUrl);
  await source.connect();
  await sandbox.connect();
  try {
    const snapshot = await beginSnapshot(source, warnings);
    const run: CloneRun = { opts, log, warnings, source, sandbox, snapshot, pgDump };
    const { tables, fks, missing } = await resolveTableSet(source, opts.tableNames);
    if (tables.length === 0) {
      throw new RunbookError('none of the tables the deploy phase touches exists on the source, so there is nothing to rehearse on', {
        hint: `looked for: ${opts.tableNames.join(', ') || '(no table names found in the deploy steps)'}; check the runbook's vars (--var table=...)`,
        exitCode: 2,
      });
    }
    log(
      `copying the schema of ${tables.length} relation(s) with ${pgDump ? `${pgDump.path} (${pgDump.major})` : 'catalog queries on the source'}`,
    );
    const { schemaScope, catalog } = await copyPreData(run, tables);
    const samples = await copyData(run, tables, choice);
    await completeReferences(run, tables, fks, samples);
    await setSequences(source, sandbox, tables);
    await source.query('COMMIT');
    await copyPostData(run, tables, schemaScope, catalog);
    await measureSamples(run, tables, samples);
    for (const x of catalog?.extraRelations ?? []) samples.set(x.oid, extraRelationSample(x));
    return {
      tables: [...samples.values()],
      fks,
      missing,
      schemaScope,
      schemaFrom: pgDump ? 'pg_dump' : 'catalog',
      samplePct: opts.samplePct,
      pgDump: pgDump ? `${pgDump.path} (${pgDump.version})` : `catalog queries (PostgreSQL ${opts.sourceMajor} source, no pg_dump used)`,
      snapshot,
      warnings,
      durationMs: Date.now() - t0,
    };
  } catch (err) {
    await source.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await source.end().catch(() => {});
    await sandbox.end().catch(() => {});
  }
}

/** What one clone works with: its options, both connections, the source's snapshot and the pg_dump (none: catalog copy). */
interface CloneRun {
  opts: CloneOptions;
  log: (message: string) => void;
  warnings: string[];
  source: pg.Client;
  sandbox: pg.Client;
  snapshot: string | null;
  pgDump: PgDumpBinary | undefined;
}

function checkSampleOptions(opts: CloneOptions): SampleChoice {
  if (!(opts.samplePct > 0 && opts.samplePct <= 100))
    throw new RunbookError(`--sample must be between 0 and 100 percent, got ${opts.samplePct}`, { exitCode: 2 });
  const choice = opts.sampleMethod ?? 'auto';
  if (!SAMPLE_CHOICES.includes(choice))
    throw new RunbookError(`--sample-method must be one of ${SAMPLE_CHOICES.join(', ')}, got "${String(choice)}"`, { exitCode: 2 });
  return choice;
}

/** The pg_dump to copy the schema with, or undefined for the catalog copy (saying why when auto fell back to it). */
async function pgDumpToUse(
  opts: CloneOptions,
  bin: PgDumpBinary | SchemaSource | undefined,
  log: (message: string) => void,
  warnings: string[],
): Promise<PgDumpBinary | undefined> {
  const schemaSource: SchemaSource = !bin
    ? await chooseSchemaSource(opts.sourceMajor, opts.schemaFrom, opts.pgDump)
    : 'kind' in bin
      ? bin
      : { kind: 'pg_dump', bin };
  if (schemaSource.kind === 'catalog' && schemaSource.reason) {
    const w = `${schemaSource.reason}; copying the schema from the source's catalog instead`;
    log(`warning: ${w}`);
    warnings.push(w);
  }
  return schemaSource.kind === 'pg_dump' ? schemaSource.bin : undefined;
}

/** Opens the read-only snapshot everything is read in, exported for pg_dump when the server allows it. */
async function beginSnapshot(source: pg.Client, warnings: string[]): Promise<string | null> {
  await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    return (await source.query<{ s: string }>('select pg_export_snapshot() as s')).rows[0]!.s;
  } catch (err) {
    await source.query('ROLLBACK');
    await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    warnings.push(`could not export a snapshot (${(err as Error).message}); schema and data are read in separate snapshots`);
    return null;
  }
}

/** 1. Schema, pre-data: from the catalog, or pg_dump of the table set, or of the whole database when the set does not restore alone. */
async function copyPreData(
  run: CloneRun,
  tables: TableInSet[],
): Promise<{ schemaScope: CloneResult['schemaScope']; catalog: CatalogDump | undefined }> {
  const { opts, log, warnings, sandbox, pgDump } = run;
  if (!pgDump) {
    // Read in this transaction (the exported snapshot); indexes and FKs wait for the data.
    const catalog = await readCatalogSchema(
      run.source,
      tables.map((t) => t.oid),
    );
    for (const w of catalog.warnings) log(`warning: ${w}`);
    warnings.push(...catalog.warnings);
    const missingExt = await applyCatalogSection(sandbox, catalog, 'pre-data');
    for (const w of missingExt) log(`warning: ${w}`);
    warnings.push(...missingExt);
    return { schemaScope: 'tables', catalog };
  }
  const snapshot = run.snapshot ?? undefined;
  const pre = await dumpSchema(pgDump, { url: opts.sourceUrl, tables: tables.map((t) => t.qualified), section: 'pre-data', snapshot });
  const schemaSql = [...new Set(tables.map((t) => t.schema))]
    .filter((s) => s !== 'public')
    .map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)};`)
    .join('\n');
  try {
    await applyInTransaction(sandbox, `${schemaSql}\n${pre}`);
    return { schemaScope: 'tables', catalog: undefined };
  } catch (err) {
    log(`the tables need objects outside the set (${(err as Error).message}); copying the whole database schema instead`);
    warnings.push(`table-scoped schema did not restore (${(err as Error).message}); the whole database schema was copied`);
  }
  const full = await dumpSchema(pgDump, { url: opts.sourceUrl, tables: [], section: 'pre-data', snapshot });
  try {
    await applyInTransaction(sandbox, full);
  } catch (err2) {
    throw new RunbookError(`the source schema does not restore in the sandbox: ${(err2 as Error).message}`, {
      hint: 'an extension or a newer-version feature may be missing in the sandbox; try --sandbox docker (exact version) or a staging URL',
    });
  }
  return { schemaScope: 'database', catalog: undefined };
}

function emptySample(t: TableInSet, method: SampleMethod): TableSample {
  return {
    oid: t.oid,
    table: t.display,
    role: t.role,
    relkind: t.relkind,
    method,
    sourceRows: t.rowsEstimate,
    sourceBytes: t.heapBytes,
    sourceIndexBytes: t.indexBytes,
    sampleRows: 0,
    sampleBytes: 0,
    referencedRowsAdded: 0,
    orphansDeleted: 0,
  };
}

/** 2. Data: each table's sample, by the method its size and keys allow. */
async function copyData(run: CloneRun, tables: TableInSet[], choice: SampleChoice): Promise<Map<number, TableSample>> {
  const samples = new Map<number, TableSample>();
  for (const t of tables) {
    const key = await sliceKeyFor(run.source, t, choice, run.opts.samplePct);
    const sample = emptySample(t, sampleMethod(t, run.opts.samplePct, key));
    samples.set(t.oid, sample);
    if (sample.method === 'schema-only' || sample.method === 'referenced') continue;
    const cols = await copyColumns(run.source, t.oid);
    if (sample.method === 'slices' || sample.method === 'key-groups') await copyKeyed(run, t, key!, cols, sample);
    else await copySampled(run, t, cols, sample.method);
  }
  return samples;
}

async function copyKeyed(run: CloneRun, t: TableInSet, key: SliceKey, cols: string, sample: TableSample): Promise<void> {
  const { rows, count } = await copySlices(run.source, run.sandbox, t, key, cols, {
    fraction: run.opts.samplePct / 100,
    seed: run.opts.seed ?? 42,
    sliceRows: run.opts.sliceRows,
  });
  sample.slices = { count, index: key.index, ...(key.groups ? { rowsPerKey: key.rowsPerKey } : {}) };
  run.log(
    key.groups
      ? `  ${t.display}: ${rows} row(s) (${count} slice(s) of whole key groups of ${key.index}, ~${Math.round(key.rowsPerKey ?? 0)} rows per key; reads most of the table when the groups are spread through it)`
      : `  ${t.display}: ${rows} row(s) (${count} keyset slice(s) of ${key.index})`,
  );
}

async function copySampled(run: CloneRun, t: TableInSet, cols: string, method: SampleMethod): Promise<void> {
  const { samplePct, seed = 42 } = run.opts;
  // ONLY: an inheritance parent's scan would return its children's rows too (they are copied on their own).
  const from = `ONLY ${t.qualified}${method === 'system' ? ` TABLESAMPLE SYSTEM (${samplePct}) REPEATABLE (${seed})` : method === 'bernoulli' ? ` TABLESAMPLE BERNOULLI (${samplePct}) REPEATABLE (${seed})` : ''}`;
  const n = await copyRows(run.source, run.sandbox, `select ${cols} from ${from}`, t.qualified, cols);
  run.log(`  ${t.display}: ${n} row(s) (${method})`);
}

/** Fetches rows referenced by sampled rows until nothing is missing (chains, self references), then drops what still dangles. */
async function completeReferences(
  run: CloneRun,
  tables: TableInSet[],
  fks: ForeignKeyFacts[],
  samples: Map<number, TableSample>,
): Promise<void> {
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  const fetchable = (fk: ForeignKeyFacts) => {
    const parent = samples.get(fk.parent)!;
    const child = samples.get(fk.child)!;
    // A touched table's sample stays a sample: its referencing children lose orphans instead.
    return parent.role === 'referenced' || parent.method === 'referenced' || (child.role !== 'referencing' && parent.method !== 'all');
  };
  for (let round = 0; round < 8; round++) {
    let added = 0;
    for (const fk of fks.filter(fetchable)) added += await fetchReferenced(run, fk, byOid, samples);
    if (added === 0) break;
  }
  // Whatever still dangles (rows whose parents we chose not to fetch) goes.
  for (const fk of fks) {
    const n = await deleteOrphans(run.sandbox, fk, byOid);
    if (n > 0) samples.get(fk.child)!.orphansDeleted += n;
  }
}

/** Copies the parent rows the sandbox's child rows of `fk` point at but lack; returns how many. */
async function fetchReferenced(
  run: CloneRun,
  fk: ForeignKeyFacts,
  byOid: Map<number, TableInSet>,
  samples: Map<number, TableSample>,
): Promise<number> {
  const parent = byOid.get(fk.parent)!;
  const keys = await missingKeys(run.sandbox, fk, byOid);
  if (keys.length === 0) return 0;
  const cols = await copyColumns(run.source, parent.oid);
  let added = 0;
  for (let i = 0; i < keys.length; i += KEY_CHUNK) {
    const chunk = keys.slice(i, i + KEY_CHUNK);
    const values = chunk.map((k) => `(${k.map((v, j) => `${quoteLiteral(v)}::${fk.parentTypes[j]}`).join(', ')})`).join(', ');
    const match = `(${fk.parentColumns.map(quoteIdent).join(', ')}) in (values ${values})`;
    const n = await copyRows(
      run.source,
      run.sandbox,
      `select ${cols} from ONLY ${parent.qualified} where ${match}`,
      parent.qualified,
      cols,
    );
    samples.get(parent.oid)!.referencedRowsAdded += n;
    added += n;
  }
  return added;
}

/** 3. Post-data: indexes, constraints, triggers, built on the sample. */
async function copyPostData(
  run: CloneRun,
  tables: TableInSet[],
  schemaScope: CloneResult['schemaScope'],
  catalog: CatalogDump | undefined,
): Promise<void> {
  if (catalog) {
    await applyCatalogSection(run.sandbox, catalog, 'post-data');
    return;
  }
  const names = schemaScope === 'tables' ? tables.map((t) => t.qualified) : [];
  const post = await dumpSchema(run.pgDump!, { url: run.opts.sourceUrl, tables: names, section: 'post-data' });
  try {
    await applyInTransaction(run.sandbox, post);
  } catch (err) {
    throw new RunbookError(`indexes and constraints of the source do not restore on the sample: ${(err as Error).message}`, {
      hint: 'a constraint may depend on data outside the sample; report this with the runbook',
    });
  }
}

/** VACUUM ANALYZE each sampled table for realistic plans, then records its exact sample size. */
async function measureSamples(run: CloneRun, tables: TableInSet[], samples: Map<number, TableSample>): Promise<void> {
  const { sandbox } = run;
  for (const t of tables) {
    if (t.relkind !== 'r' && t.relkind !== 'p') continue;
    await sandbox.query(`VACUUM (ANALYZE) ${t.qualified}`).catch(() => sandbox.query(`ANALYZE ${t.qualified}`));
    const n = await sandbox.query<{ n: string }>(`select count(*)::text as n from ONLY ${t.qualified}`);
    const bytes = await sandbox.query<{ bytes: string }>(cloneSql('clone-heap-bytes'), [t.qualified]);
    const sample = samples.get(t.oid)!;
    sample.sampleRows = Number(n.rows[0]!.n);
    sample.sampleBytes = Number(bytes.rows[0]!.bytes);
    if (sample.sourceRows === null && sample.method !== 'all') {
      run.warnings.push(`${t.display} was never analyzed on the source: its size is estimated from the sample rate`);
      sample.sourceRows = Math.round((sample.sampleRows * 100) / run.opts.samplePct);
    } else if (sample.sourceRows === null) sample.sourceRows = sample.sampleRows;
  }
}

/** A relation the catalog copy created empty (a view's or a partition's dependencies). */
function extraRelationSample(x: CatalogDump['extraRelations'][number]): TableSample {
  return {
    oid: x.oid,
    table: x.schema === 'public' ? x.name : `${x.schema}.${x.name}`,
    role: x.relkind === 'v' || x.relkind === 'm' ? 'view' : 'referenced',
    relkind: x.relkind,
    method: 'schema-only',
    sourceRows: x.rows,
    sourceBytes: x.heapBytes,
    sourceIndexBytes: x.indexBytes,
    sampleRows: 0,
    sampleBytes: 0,
    referencedRowsAdded: 0,
    orphansDeleted: 0,
  };
}

/** The sample method for a table, given the key it can be sliced by (sliceKeyFor), if any. */
export function sampleMethod(t: TableInSet, pct: number, key: SliceKey | null = null): SampleMethod {
  if (t.relkind !== 'r') return 'schema-only'; // views, partitioned parents (rows live in partitions)
  if (t.role === 'referenced') return (t.rowsEstimate ?? Infinity) <= SMALL_TABLE_ROWS ? 'all' : 'referenced';
  if (pct >= 100 || (t.rowsEstimate !== null && t.rowsEstimate <= SMALL_TABLE_ROWS)) return 'all';
  // Slices are sized from reltuples: a table never analyzed gets a block or row sample.
  if (key && t.rowsEstimate !== null) return key.groups ? 'key-groups' : 'slices';
  return t.relpages >= SYSTEM_SAMPLE_MIN_PAGES ? 'system' : 'bernoulli';
}

/** Which key to slice the table by: key groups only for the tables the deploy touches (their indexes are maintained). */
async function sliceKeyFor(source: pg.Client, t: TableInSet, choice: SampleChoice, pct: number): Promise<SliceKey | null> {
  if (choice === 'tablesample' || t.relkind !== 'r' || t.role === 'referenced' || t.rowsEstimate === null) return null;
  if (choice === 'auto' && (t.role === 'touched' || t.role === 'partition'))
    return chooseSliceKey(source, t.oid, t.rowsEstimate, pct / 100);
  return uniqueSliceKey(source, t.oid);
}

/** Copies the table's keyset slices (see slices.ts): their bounds first, each after the previous one, then their rows in one scan. */
async function copySlices(
  source: pg.Client,
  sandbox: pg.Client,
  t: TableInSet,
  key: SliceKey,
  cols: string,
  opts: { fraction: number; seed: number; sliceRows?: number },
): Promise<{ rows: number; count: number }> {
  const plan = await planSlices(source, { qualified: t.qualified, relpages: t.relpages, rowsEstimate: t.rowsEstimate ?? 0 }, key, opts);
  const ranges: SliceRange[] = [];
  let after: string[] | null = null;
  for (const start of plan.starts) {
    const lower: SliceRange['lower'] = { start, after };
    const end: string[] | null =
      (await source.query<{ k: string[] }>(sliceEndSql(t.qualified, key, lower, plan.rowsPerSlice))).rows[0]?.k ?? null;
    ranges.push({ lower, end });
    if (!end) break; // this slice runs to the end of the table
    after = end;
  }
  if (ranges.length === 0) return { rows: 0, count: 0 };
  const rows = await copyRows(source, sandbox, slicesSelectSql(t.qualified, cols, key, ranges), t.qualified, cols);
  return { rows, count: ranges.length };
}

async function applyInTransaction(client: pg.Client, sql: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    const e = err as { message: string; code?: string };
    throw Object.assign(new Error(redact(e.message)), { code: e.code });
  } finally {
    // pg_dump output empties search_path for the session.
    await client.query('RESET search_path').catch(() => {});
  }
}

/** Quoted column list for COPY: generated columns cannot be written. */
async function copyColumns(source: pg.Client, oid: number): Promise<string> {
  const r = await source.query<{ name: string }>(cloneSql('clone-copy-columns'), [oid]);
  return r.rows.map((c) => quoteIdent(c.name)).join(', ');
}

async function copyRows(source: pg.Client, sandbox: pg.Client, select: string, table: string, cols: string): Promise<number> {
  const out = source.query(copyTo(`COPY (${select}) TO STDOUT`));
  const into = sandbox.query(copyFrom(`COPY ${table} (${cols}) FROM STDIN`));
  await pipeline(out, into);
  return into.rowCount ?? 0;
}

function keyMatch(fk: ForeignKeyFacts, c: string, p: string): string {
  return fk.childColumns.map((col, i) => `${p}.${quoteIdent(fk.parentColumns[i]!)} = ${c}.${quoteIdent(col)}`).join(' and ');
}

function notNull(fk: ForeignKeyFacts, c: string): string {
  return fk.childColumns.map((col) => `${c}.${quoteIdent(col)} is not null`).join(' and ');
}

async function missingKeys(sandbox: pg.Client, fk: ForeignKeyFacts, byOid: Map<number, TableInSet>): Promise<string[][]> {
  const child = byOid.get(fk.child)!;
  const parent = byOid.get(fk.parent)!;
  const r = await sandbox.query({
    text: `select distinct ${fk.childColumns.map((c) => `c.${quoteIdent(c)}::text`).join(', ')} from ${child.qualified} c
            where ${notNull(fk, 'c')} and not exists (select 1 from ${parent.qualified} p where ${keyMatch(fk, 'c', 'p')})`,
    rowMode: 'array',
  });
  return r.rows as string[][];
}

async function deleteOrphans(sandbox: pg.Client, fk: ForeignKeyFacts, byOid: Map<number, TableInSet>): Promise<number> {
  const child = byOid.get(fk.child)!;
  const parent = byOid.get(fk.parent)!;
  if (child.relkind !== 'r') return 0;
  const r = await sandbox.query(
    `delete from ${child.qualified} c where ${notNull(fk, 'c')} and not exists (select 1 from ${parent.qualified} p where ${keyMatch(fk, 'c', 'p')})`,
  );
  return r.rowCount ?? 0;
}

/** Owned sequences continue where the source's are (or past the sample's max). */
async function setSequences(source: pg.Client, sandbox: pg.Client, tables: TableInSet[]): Promise<void> {
  const r = await source
    .query<{ seq: string; col: string; tbl: string; last: string | null }>(cloneSql('clone-owned-sequences'), [tables.map((t) => t.oid)])
    .catch(() => ({ rows: [] as { seq: string; col: string; tbl: string; last: string | null }[] }));
  for (const s of r.rows) {
    await sandbox
      .query(
        `select setval($1::regclass, greatest(coalesce($2::bigint, 1), coalesce((select max(${quoteIdent(s.col)})::bigint from ${s.tbl}), 1)))`,
        [s.seq, s.last],
      )
      .catch(() => {});
  }
}
