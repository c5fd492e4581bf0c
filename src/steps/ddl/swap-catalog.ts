// What swap_table needs to know about a table before it rebuilds it: columns, primary key,
// indexes and index-backed constraints, foreign keys in and out, dependent views (recursively),
// sequences, grants, and the things it refuses to handle.
import type { Queryable } from '../../pg/queryable.js';
import { sqlLiteral } from './ddl-catalog.js';
import { probe } from '../../pg/probe.js';
import type { TableFacts } from '../../pg/catalog/catalog-types.js';
import { quoteIdent } from '../../pg/connection.js';

export interface SwapColumn {
  name: string;
  type: string;
  generated: boolean;
  identity: boolean;
}

export interface SwapIndex {
  name: string;
  /** pg_get_indexdef text from " USING ..." on (method, columns, options, predicate). */
  usingClause: string;
  unique: boolean;
  /** Set when the index backs a constraint (p, u, x): that constraint's definition. */
  constraintDef?: string;
}

export interface SwapForeignKey {
  name: string;
  /** Quoted schema.table of the table holding the constraint. */
  table: string;
  /** pg_get_constraintdef text, e.g. FOREIGN KEY (a) REFERENCES public.t(id) ON DELETE CASCADE. */
  definition: string;
}

export interface SwapView {
  /** Quoted schema.name. */
  name: string;
  definition: string;
  options: string[];
  owner: string;
  grants: string[];
  /** Column-level grants, with `%VIEW%` where the view name goes. */
  columnGrants: string[];
  comment: string | null;
}

export interface SwapSequence {
  /** Quoted schema.name. */
  name: string;
  column: string;
  kind: 'serial' | 'identity';
  type: string;
}

export interface SwapInfo {
  columns: SwapColumn[];
  pk: string[];
  indexes: SwapIndex[];
  outgoingFks: SwapForeignKey[];
  incomingFks: SwapForeignKey[];
  /** Dependent views in creation order (a view before views built on it). */
  views: SwapView[];
  sequences: SwapSequence[];
  /** GRANT statements for the table, with `%TABLE%` where the table name goes. */
  grants: string[];
  /** Column-level GRANTs (`GRANT SELECT (a, b) ON %TABLE% TO r`), which LIKE does not copy either. */
  columnGrants: string[];
  owner: string;
  /** Reasons this table cannot be swapped by this kind. */
  blockers: string[];
}

/**
 * SQL (an array expression) for the column-level grants on relation `rel` (an oid expression):
 * one GRANT per grantee, privilege and grant option, listing its columns; `placeholder` stands
 * where the relation name goes. The owner's own entries are implicit, as for table grants.
 */
function columnGrantsSql(rel: string, placeholder: string): string {
  return `(select coalesce(array_agg(g order by g), '{}') from (
            select format('GRANT %s (%s) ON ${placeholder} TO %s%s', x.privilege_type, string_agg(quote_ident(att.attname), ', ' order by att.attnum),
                          case when x.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(x.grantee)) end,
                          case when x.is_grantable then ' WITH GRANT OPTION' else '' end) as g
              from pg_attribute att cross join lateral aclexplode(att.attacl) x
             where att.attrelid = ${rel} and att.attnum > 0 and not att.attisdropped and att.attacl is not null
               and x.grantee <> (select relowner from pg_class where oid = ${rel})
             group by x.privilege_type, x.grantee, x.is_grantable) cg)`;
}

export async function describeForSwap(db: Queryable, t: TableFacts): Promise<SwapInfo> {
  const oid = t.oid;
  const columns = (
    await probe<any>(
      db,
      `select attname as name, format_type(atttypid, atttypmod) as type, attgenerated <> '' as generated, attidentity <> '' as identity
         from pg_attribute where attrelid = ${oid} and attnum > 0 and not attisdropped order by attnum`,
    )
  ).map((r) => ({ name: r.name, type: r.type, generated: r.generated, identity: r.identity }));

  const pk = (
    await probe<{ name: string }>(
      db,
      `select a.attname as name from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, n)
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
        where i.indrelid = ${oid} and i.indisprimary order by k.n`,
    )
  ).map((r) => r.name);

  const indexes = (
    await probe<any>(
      db,
      `select c.relname as name, pg_get_indexdef(i.indexrelid) as def, i.indisunique as unique,
              (select pg_get_constraintdef(co.oid) from pg_constraint co where co.conindid = i.indexrelid and co.conrelid = i.indrelid and co.contype in ('p','u','x')) as condef
         from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = ${oid} order by c.relname`,
    )
  ).map((r) => {
    const def: string = r.def;
    const at = def.indexOf(' USING ', def.indexOf(' ON '));
    return { name: r.name, usingClause: def.slice(at + 1), unique: r.unique, ...(r.condef ? { constraintDef: r.condef } : {}) };
  });

  // Definitions are captured with an empty search_path so every name in them is schema-qualified.
  const fks = await probe<any>(
    db,
    `set local search_path = pg_catalog;
     select co.conname as name, co.conrelid = co.confrelid as self_ref, co.conrelid::regclass::text as tbl, n.nspname as nsp, c.relname as rel, pg_get_constraintdef(co.oid) as def, co.conrelid = ${oid} as outgoing
       from pg_constraint co join pg_class c on c.oid = co.conrelid join pg_namespace n on n.oid = c.relnamespace
      where co.contype = 'f' and (co.conrelid = ${oid} or co.confrelid = ${oid}) order by co.conname`,
  );
  const fk = (r: any): SwapForeignKey => ({ name: r.name, table: `${quoteIdent(r.nsp)}.${quoteIdent(r.rel)}`, definition: r.def });
  const outgoingFks = fks.filter((r) => r.outgoing).map(fk);
  const incomingFks = fks.filter((r) => !r.outgoing).map(fk);

  const views = (
    await probe<any>(
      db,
      `set local search_path = pg_catalog;
       with recursive deps(oid, depth) as (
         select distinct r.ev_class, 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
          where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and d.refobjid = ${oid} and r.ev_class <> ${oid}
         union
         select r.ev_class, deps.depth + 1 from deps join pg_depend d on d.refobjid = deps.oid and d.refclassid = 'pg_class'::regclass
           join pg_rewrite r on r.oid = d.objid and d.classid = 'pg_rewrite'::regclass where r.ev_class <> deps.oid and deps.depth < 50
       )
       select n.nspname as nsp, c.relname as name, c.relkind::text as relkind, max(deps.depth) as depth,
              pg_get_viewdef(c.oid, true) as def, c.reloptions as options, pg_get_userbyid(c.relowner) as owner,
              obj_description(c.oid, 'pg_class') as comment,
              (select coalesce(array_agg(format('GRANT %s ON %%VIEW%% TO %s%s', a.privilege_type,
                        case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end,
                        case when a.is_grantable then ' WITH GRANT OPTION' else '' end)), '{}')
                 from aclexplode(c.relacl) a where a.grantee <> c.relowner) as grants,
              ${columnGrantsSql('c.oid', '%%VIEW%%')} as column_grants
         from deps join pg_class c on c.oid = deps.oid join pg_namespace n on n.oid = c.relnamespace
        group by n.nspname, c.relname, c.relkind, c.oid order by max(deps.depth), c.relname`,
    )
  ).map((r) => ({
    name: `${quoteIdent(r.nsp)}.${quoteIdent(r.name)}`,
    relkind: r.relkind,
    definition: String(r.def).trim().replace(/;$/, ''),
    options: r.options ?? [],
    owner: r.owner,
    grants: r.grants ?? [],
    columnGrants: r.column_grants ?? [],
    comment: r.comment,
  }));

  const sequences = (
    await probe<any>(
      db,
      `select a.attname as column, s.seqrelid::regclass::text as seq, n.nspname as nsp, sc.relname as seqname, format_type(s.seqtypid, null) as type,
              case when a.attidentity <> '' then 'identity' else 'serial' end as kind
         from pg_attribute a
         join pg_depend d on d.refobjid = a.attrelid and d.refobjsubid = a.attnum and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
         join pg_sequence s on s.seqrelid = d.objid
         join pg_class sc on sc.oid = s.seqrelid join pg_namespace n on n.oid = sc.relnamespace
        where a.attrelid = ${oid} and a.attnum > 0 and not a.attisdropped`,
    )
  ).map((r) => ({ name: `${quoteIdent(r.nsp)}.${quoteIdent(r.seqname)}`, column: r.column, kind: r.kind, type: r.type }));

  const meta = (
    await probe<any>(
      db,
      `select pg_get_userbyid(c.relowner) as owner, c.relrowsecurity as rls, c.relhassubclass as children,
              exists (select 1 from pg_inherits where inhrelid = c.oid) as inherits,
              (select coalesce(array_agg(tgname::text), '{}') from pg_trigger where tgrelid = c.oid and not tgisinternal and tgname not like 'pgrunbook_swap%') as triggers,
              (select coalesce(array_agg(format('GRANT %s ON %%TABLE%% TO %s%s', a.privilege_type,
                        case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end,
                        case when a.is_grantable then ' WITH GRANT OPTION' else '' end)), '{}')
                 from aclexplode(c.relacl) a where a.grantee <> c.relowner) as grants,
              ${columnGrantsSql('c.oid', '%%TABLE%%')} as column_grants
         from pg_class c where c.oid = ${oid}`,
    )
  )[0];

  const blockers: string[] = [];
  if (t.relkind === 'p') blockers.push('it is partitioned (swap the partitions, or use a partition-aware tool)');
  if (meta.children || meta.inherits) blockers.push('it takes part in table inheritance');
  if (meta.rls) blockers.push('row-level security is enabled (policies would not follow the swap)');
  if (meta.triggers.length) blockers.push(`it has triggers (${meta.triggers.join(', ')}) that would not follow the swap`);
  if (pk.length === 0) blockers.push('it has no primary key (the copy pages by it and the sync trigger matches rows by it)');
  if (fks.some((r) => r.self_ref)) blockers.push('it has a foreign key to itself');
  for (const v of views) if ((v as any).relkind === 'm') blockers.push(`materialized view ${v.name} depends on it`);

  return {
    columns,
    pk,
    indexes,
    outgoingFks,
    incomingFks,
    views,
    sequences,
    grants: meta.grants,
    columnGrants: meta.column_grants,
    owner: meta.owner,
    blockers,
  };
}

/** Is `name` free in `schema` (no relation of that name)? */
export async function relationNameFree(db: Queryable, schema: string, name: string): Promise<boolean> {
  const rows = await probe(
    db,
    `select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ${sqlLiteral(schema)} and c.relname = ${sqlLiteral(name)}`,
  );
  return rows.length === 0;
}
