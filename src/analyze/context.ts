// Per-script session facts and per-statement accumulators shared by the statement-family analyzers.
import type { LockMode } from '../pg/lock-modes.js';
import { unknownRelation, type Catalog, type TableInfo } from './analysis-catalog.js';
import { LockSet, relkindName } from './locks.js';
import { RULES, type RuleId } from './rules.js';
import type { SchemaState } from './schema-state.js';
import type { Finding, FindingSeverity, RelKindName, WorkKind } from './analysis-types.js';
import { relText, type RelName } from './ast.js';
import { stepYaml, type StepSuggestion } from './suggest-step.js';

export interface Session {
  versionNum: number;
  /** True when the version came from the server or --pg-version. */
  versionKnown: boolean;
  state: SchemaState;
  catalog?: Catalog;
  /** Session TimeZone when known (live server, or SET TimeZone earlier in the script). */
  timeZone?: string;
  /** A lock_timeout is in force (SET lock_timeout in the script, or the runner sets one). */
  lockTimeout: boolean;
  /** Inside BEGIN ... COMMIT in the script. */
  inTransactionBlock: boolean;
}

const WORK_RANK: Record<WorkKind, number> = { none: 0, catalog: 1, unknown: 2, rows: 3, scan: 4, 'index-build': 5, rewrite: 6 };

export class StatementContext {
  readonly locks = new LockSet();
  readonly findings: Finding[] = [];
  readonly uncertain: string[] = [];
  readonly notes: string[] = [];
  readonly rewritten = new Set<string>();
  readonly scanned = new Set<string>();
  work: WorkKind = 'none';
  /** Set by analyzers that could not model the statement at all. */
  unmodeled = false;
  /** WITH names anywhere in the statement: a FROM that names one reads no table. */
  readonly cteNames = new Set<string>();

  constructor(readonly session: Session) {}

  get major(): number {
    return Math.floor(this.session.versionNum / 10000);
  }
  get live(): boolean {
    return this.session.state.live;
  }
  get state(): SchemaState {
    return this.session.state;
  }

  lock(relation: string, mode: LockMode, opts: { relkind?: RelKindName; table?: TableInfo; why?: string } = {}): void {
    this.locks.add(relation, mode, {
      relkind: opts.relkind ?? (opts.table?.partial ? undefined : relkindName(opts.table?.relkind)),
      why: opts.why,
    });
  }

  /** Lock a table and, as PostgreSQL does for most DDL, its partitions / inheritance children. */
  lockWithChildren(name: string, table: TableInfo | undefined, mode: LockMode, why = 'partition (the command recurses)'): void {
    this.lock(name, mode, { table });
    for (const p of table?.partitions ?? []) this.lock(p, mode, { relkind: 'table', why });
    for (const c of table?.inheritanceChildren ?? [])
      this.lock(c, mode, { relkind: 'table', why: 'inheritance child (the command recurses)' });
    if (unknownRelation(table)) this.unknownOnce(`whether ${name} has partitions or inheritance children (they would be locked too)`);
  }

  /** Where a table's rows live: its leaf partitions when partitioned, else itself. */
  dataTables(name: string, table: TableInfo | undefined): string[] {
    if (table?.relkind === 'p') return table.leafPartitions.length ? table.leafPartitions : [];
    return [name];
  }

  /**
   * New storage for a table. `rows` (the default): the old rows are read and written again, so it
   * is a full scan too; `files`: the files are copied block by block (SET TABLESPACE), no row is
   * read; `empty`: the new storage starts empty (TRUNCATE, REFRESH ... WITH NO DATA).
   */
  rewrite(table: string, how: 'rows' | 'files' | 'empty' = 'rows'): void {
    this.rewritten.add(table);
    if (how === 'rows') this.scanned.add(table);
    this.setWork(how === 'empty' ? 'catalog' : 'rewrite');
  }

  scan(table: string, work: WorkKind = 'scan'): void {
    this.scanned.add(table);
    this.setWork(work);
  }

  setWork(w: WorkKind): void {
    if (WORK_RANK[w] > WORK_RANK[this.work]) this.work = w;
  }

  finding(rule: RuleId, message: string, opts: { severity?: FindingSeverity; safe?: string | null; step?: StepSuggestion[] } = {}): void {
    const r = RULES[rule] as { severity: FindingSeverity; safe?: string };
    const safe = opts.safe === null ? undefined : (opts.safe ?? r.safe);
    if (this.findings.some((f) => f.rule === rule && f.message === message)) return;
    this.findings.push({
      rule,
      severity: opts.severity ?? r.severity,
      message,
      ...(safe ? { safe_alternative: safe } : {}),
      ...(opts.step ? { runbook_step: stepYaml(opts.step) } : {}),
      source: 'pgrunbook',
    });
  }

  /** Something a catalog would answer. With a live catalog the relation is simply absent: say nothing. */
  unknownOnce(what: string): void {
    if (this.live) return;
    const text = `unknown without --db: ${what}`;
    if (!this.uncertain.includes(text)) this.uncertain.push(text);
  }

  doubt(text: string): void {
    if (!this.uncertain.includes(text)) this.uncertain.push(text);
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  /** Resolve a relation for display: the catalog's name when live, else as written. */
  async table(r: RelName): Promise<{ name: string; info: TableInfo | undefined }> {
    const info = await this.state.relation(r);
    if (!info && this.live && !this.state.createdInScript(r))
      this.doubt(`${relText(r)} is not in the database (an earlier step creates it, or the name is wrong)`);
    return { name: info?.name ?? relText(r), info };
  }

  /** PostgreSQL major version gate for syntax added in `since`. */
  requires(since: number, what: string): boolean {
    if (this.major >= since) return true;
    this.finding('requires-newer-server', `${what} needs PostgreSQL ${since} or later; this analysis targets ${this.major}.`);
    return false;
  }
}
