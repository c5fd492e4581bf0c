// The schema as the analyzer walks a script: the live catalog (when there is one) plus the effects
// of the statements analyzed so far. A runbook that adds a CHECK NOT VALID, validates it and then
// sets NOT NULL must see the validated check when it reaches SET NOT NULL.
import type { Catalog, ConstraintInfo, IndexInfo, IndexOwner, TableInfo } from './analysis-catalog.js';
import { relText, type RelName } from './ast.js';

export function emptyTable(name: string, relkind: TableInfo['relkind'] = 'r'): TableInfo {
  return {
    name,
    relkind,
    persistence: 'p',
    columns: new Map(),
    constraints: new Map(),
    indexes: new Map(),
    partitions: [],
    leafPartitions: [],
    inheritanceChildren: [],
    incomingForeignKeys: [],
  };
}

export class SchemaState {
  private tables = new Map<string, TableInfo | null>();
  /** Indexes created earlier in the script, by name as written. */
  private scriptIndexes = new Map<string, IndexOwner>();
  private droppedIndexes = new Set<string>();

  constructor(readonly catalog: Catalog | undefined) {}

  get live(): boolean {
    return !!this.catalog?.live;
  }

  /** The relation as of this point in the script; undefined when unknown or absent. */
  async relation(r: RelName): Promise<TableInfo | undefined> {
    const key = relText(r);
    if (this.tables.has(key)) return this.tables.get(key) ?? undefined;
    // Without a catalog, a placeholder collects the script's effects (constraints added, validated...).
    const t = this.catalog ? await this.catalog.relation(r.schema, r.name) : { ...emptyTable(key), partial: true };
    this.tables.set(key, t ?? null);
    return t;
  }

  /** Whether the script itself created the relation (so it is known to be empty). */
  createdInScript(r: RelName): boolean {
    return !!this.tables.get(relText(r))?.createdInScript;
  }

  created(r: RelName, info: TableInfo): void {
    this.tables.set(relText(r), { ...info, createdInScript: true });
  }

  dropped(r: RelName): void {
    this.tables.set(relText(r), null);
  }

  async indexOwner(r: RelName): Promise<IndexOwner | undefined> {
    const key = relText(r);
    if (this.droppedIndexes.has(key)) return undefined;
    const own = this.scriptIndexes.get(key);
    if (own) return own;
    return this.catalog ? this.catalog.indexOwner(r.schema, r.name) : undefined;
  }

  indexCreated(r: RelName, owner: IndexOwner, table: TableInfo | undefined, info: IndexInfo): void {
    const key = relText(r);
    this.droppedIndexes.delete(key);
    this.scriptIndexes.set(key, owner);
    table?.indexes.set(info.name, info);
  }

  indexDropped(r: RelName, table: TableInfo | undefined): void {
    const key = relText(r);
    this.scriptIndexes.delete(key);
    this.droppedIndexes.add(key);
    table?.indexes.delete(r.name);
  }

  addConstraint(table: TableInfo | undefined, c: ConstraintInfo): void {
    table?.constraints.set(c.name, c);
  }
}
