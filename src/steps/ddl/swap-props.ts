// What `CREATE TABLE .. (LIKE .. INCLUDING ALL)` does not copy and swap_table carries over itself:
// the owner, the table's own comment, storage parameters, per-column statistics targets and
// options, the replica identity and explicit publication membership. Also the options of serial
// sequences, which the swap widens (AS bigint) and the swap back must restore exactly.
import type { SequenceOptions } from '../../pg/catalog/catalog-types.js';
import type { Queryable } from '../../pg/queryable.js';
import { inlineParams, probe } from '../../pg/probe.js';
import { sqlText } from '../../pg/sql-files.js';
import { sqlLiteral } from './ddl-catalog.js';
import { quoteIdent } from '../../pg/connection.js';
import { RunbookError } from '../../util/runbook-error.js';

export interface ColumnSettings {
  name: string;
  /** ALTER COLUMN .. SET STATISTICS value; null = the default. */
  statTarget: number | null;
  /** attoptions, e.g. n_distinct=100. */
  options: string[];
}

export interface PublicationMember {
  publication: string;
  /** What follows the table name in ALTER PUBLICATION .. ADD TABLE: column list, row filter. */
  clause: string;
}

export interface TableProps {
  owner: string;
  comment: string | null;
  reloptions: string[];
  /** pg_class.relreplident: d(efault), n(othing), f(ull), i(ndex). */
  replident: string;
  replidentIndex: string | null;
  columns: ColumnSettings[];
  publications: PublicationMember[];
}

const SWAP_SQL = 'steps/ddl/sql';

/** One of swap_table's catalog queries (steps/ddl/sql/swap-*.sql) for this server, as a probe. */
async function swapQuery<R = any>(db: Queryable, name: string, params: unknown[], version?: number): Promise<R[]> {
  return probe<R>(db, inlineParams(sqlText(SWAP_SQL, name, version), params));
}

export async function tableProps(db: Queryable, oid: number): Promise<TableProps> {
  const [r] = await swapQuery(db, 'swap-table-props', [oid]);
  return {
    owner: r.owner,
    comment: r.comment,
    reloptions: r.reloptions,
    replident: r.replident,
    replidentIndex: r.replident_index,
    columns: r.columns,
    // Explicit memberships only; column lists and row filters exist from PostgreSQL 15.
    publications: await swapQuery<PublicationMember>(db, 'swap-publications', [oid], r.version),
  };
}

/** The properties LIKE left behind, applied to the (empty) shadow. `indexName` maps an original index name to the shadow's. */
export function carryPropsSql(shadow: string, props: TableProps, indexName: (orig: string) => string): string[] {
  const out = [`ALTER TABLE ${shadow} OWNER TO ${quoteIdent(props.owner)}`];
  if (props.comment !== null) out.push(`COMMENT ON TABLE ${shadow} IS ${sqlLiteral(props.comment)}`);
  if (props.reloptions.length) out.push(`ALTER TABLE ${shadow} SET (${props.reloptions.join(', ')})`);
  for (const c of props.columns) {
    if (c.statTarget !== null) out.push(`ALTER TABLE ${shadow} ALTER COLUMN ${quoteIdent(c.name)} SET STATISTICS ${c.statTarget}`);
    if (c.options.length) out.push(`ALTER TABLE ${shadow} ALTER COLUMN ${quoteIdent(c.name)} SET (${c.options.join(', ')})`);
  }
  if (props.replident === 'f') out.push(`ALTER TABLE ${shadow} REPLICA IDENTITY FULL`);
  if (props.replident === 'n') out.push(`ALTER TABLE ${shadow} REPLICA IDENTITY NOTHING`);
  if (props.replident === 'i' && props.replidentIndex)
    out.push(`ALTER TABLE ${shadow} REPLICA IDENTITY USING INDEX ${quoteIdent(indexName(props.replidentIndex))}`);
  return out;
}

/** Moves explicit publication membership from one table to the other (inside the swap transaction). */
export function movePublicationsSql(from: string, to: string, pubs: PublicationMember[]): string[] {
  return pubs.flatMap((p) => [
    `ALTER PUBLICATION ${quoteIdent(p.publication)} DROP TABLE ${from}`,
    `ALTER PUBLICATION ${quoteIdent(p.publication)} ADD TABLE ${to}${p.clause}`,
  ]);
}

/** Every option of the given sequences (quoted names), as the catalog has them now. */
export async function sequenceOptions(db: Queryable, names: string[]): Promise<SequenceOptions[]> {
  if (!names.length) return [];
  return swapQuery<SequenceOptions>(db, 'swap-sequence-options', [names]);
}

/** ALTER SEQUENCE back to exactly the recorded options (type first: AS changes the default bounds). */
export function restoreSequenceSql(s: SequenceOptions): string {
  return `ALTER SEQUENCE ${s.name} AS ${s.type} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} START WITH ${s.start} CACHE ${s.cache} ${s.cycle ? 'CYCLE' : 'NO CYCLE'}`;
}

/** Refuses a swap back that would put a sequence past the bounds it is restored to (values handed out since). */
export async function checkSequencesFit(db: Queryable, seqs: SequenceOptions[]): Promise<void> {
  for (const s of seqs) {
    const [row] = await swapQuery<{ last: string }>(db, 'swap-sequence-position', [s.name]);
    if (row && (BigInt(row.last) > BigInt(s.max) || BigInt(row.last) < BigInt(s.min))) {
      throw new RunbookError(
        `cannot swap back: sequence ${s.name} is at ${row.last}, outside the ${s.type} range ${s.min}..${s.max} it had before the swap`,
        {
          hint: 'values past the old range were handed out after the swap; the new table stays live. Fix forward instead of swapping back',
        },
      );
    }
  }
}
