// What `CREATE TABLE .. (LIKE .. INCLUDING ALL)` does not copy and swap_table carries over itself:
// the owner, the table's own comment, storage parameters, per-column statistics targets and
// options, the replica identity and explicit publication membership. Also the options of serial
// sequences, which the swap widens (AS bigint) and the swap back must restore exactly.
import type { SequenceOptions } from '../../pg/catalog/catalog-types.js';
import type { Queryable } from '../../pg/queryable.js';
import { probe } from '../../pg/probe.js';
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

export async function tableProps(db: Queryable, oid: number): Promise<TableProps> {
  const [r] = await probe<any>(
    db,
    `select pg_get_userbyid(c.relowner) as owner, obj_description(c.oid, 'pg_class') as comment, coalesce(c.reloptions, '{}') as reloptions,
            c.relreplident::text as replident,
            (select i.relname from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = c.oid and x.indisreplident) as replident_index,
            (select coalesce(json_agg(json_build_object('name', a.attname, 'statTarget', nullif(coalesce(a.attstattarget::int, -1), -1), 'options', coalesce(a.attoptions, '{}')) order by a.attnum), '[]')
               from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                and (coalesce(a.attstattarget::int, -1) <> -1 or a.attoptions is not null)) as columns,
            current_setting('server_version_num')::int as version
       from pg_class c where c.oid = ${oid}`,
  );
  return {
    owner: r.owner,
    comment: r.comment,
    reloptions: r.reloptions,
    replident: r.replident,
    replidentIndex: r.replident_index,
    columns: r.columns,
    publications: await publicationsOf(db, oid, r.version),
  };
}

/** Explicit memberships only: FOR ALL TABLES and TABLES IN SCHEMA cover the rebuilt table by themselves. */
async function publicationsOf(db: Queryable, oid: number, version: number): Promise<PublicationMember[]> {
  // Column lists and row filters exist from PostgreSQL 15.
  const extra =
    version >= 150000
      ? `case when pr.prattrs is null then '' else ' (' || (select string_agg(quote_ident(a.attname), ', ' order by a.attnum) from pg_attribute a
                 where a.attrelid = pr.prrelid and a.attnum = any(pr.prattrs::int2[])) || ')' end
         || coalesce(' WHERE (' || pg_get_expr(pr.prqual, pr.prrelid) || ')', '')`
      : `''`;
  const rows = await probe<{ publication: string; clause: string }>(
    db,
    `select p.pubname as publication, ${extra} as clause
       from pg_publication_rel pr join pg_publication p on p.oid = pr.prpubid where pr.prrelid = ${oid} order by p.pubname`,
  );
  return rows;
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
  return probe<SequenceOptions>(
    db,
    `select format('%I.%I', n.nspname, c.relname) as name, format_type(s.seqtypid, null) as type, s.seqstart::text as start, s.seqincrement::text as increment,
            s.seqmin::text as min, s.seqmax::text as max, s.seqcache::text as cache, s.seqcycle as cycle
       from pg_sequence s join pg_class c on c.oid = s.seqrelid join pg_namespace n on n.oid = c.relnamespace
      where s.seqrelid in (${names.map((x) => `to_regclass(${sqlLiteral(x)})`).join(', ')})`,
  );
}

/** ALTER SEQUENCE back to exactly the recorded options (type first: AS changes the default bounds). */
export function restoreSequenceSql(s: SequenceOptions): string {
  return `ALTER SEQUENCE ${s.name} AS ${s.type} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} START WITH ${s.start} CACHE ${s.cache} ${s.cycle ? 'CYCLE' : 'NO CYCLE'}`;
}

/** Refuses a swap back that would put a sequence past the bounds it is restored to (values handed out since). */
export async function checkSequencesFit(db: Queryable, seqs: SequenceOptions[]): Promise<void> {
  for (const s of seqs) {
    const [row] = await probe<{ last: string }>(db, `select last_value::text as last from ${s.name}`);
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
