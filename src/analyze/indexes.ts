// CREATE INDEX, DROP INDEX and REINDEX, plain and CONCURRENTLY.
// CREATE INDEX: SHARE on the table (writes wait). CONCURRENTLY: SHARE UPDATE EXCLUSIVE, outside a
// transaction block, waits for older snapshots, leaves an INVALID index behind on failure.
// DROP INDEX: ACCESS EXCLUSIVE on the table; CONCURRENTLY: SHARE UPDATE EXCLUSIVE.
// REINDEX: SHARE on the table and ACCESS EXCLUSIVE on the index; CONCURRENTLY: SHARE UPDATE EXCLUSIVE.
import { nameFromList, rangeVar, relText, hasOption, splitName } from './ast.js';
import type { StatementContext } from './context.js';
import { unknownRelation } from './analysis-catalog.js';
import { rowsText } from './column-changes.js';

export async function analyzeCreateIndex(ast: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  const concurrent = !!ast.concurrent;
  const only = !!rel.only;
  const fresh = ctx.state.createdInScript(rel);
  const idxName: string | undefined = ast.idxname;
  const existing = idxName ? info?.indexes.get(idxName) : undefined;
  if (existing && ast.if_not_exists) {
    if (!existing.valid) {
      ctx.finding(
        'concurrently-leaves-invalid-index',
        `Index ${idxName} already exists but is INVALID: IF NOT EXISTS will skip it and leave the broken index in place.`,
        {
          severity: 'warning',
          safe: 'DROP INDEX CONCURRENTLY the invalid index first, then create it again (a `create_index` step does this).',
        },
      );
    } else ctx.note(`index ${idxName} already exists: IF NOT EXISTS makes this a no-op`);
  }
  if (info?.relkind === 'p' && concurrent) {
    ctx.finding('concurrently-on-partitioned-table', `CREATE INDEX CONCURRENTLY is not supported on partitioned table ${name}.`);
  }
  const mode = concurrent ? 'ShareUpdateExclusiveLock' : 'ShareLock';
  if (existing && ast.if_not_exists) {
    // The lock is taken before the name is checked; then nothing is built.
    ctx.lock(name, mode, { table: info });
    ctx.setWork('catalog');
  } else if (only) {
    ctx.lock(name, mode, { table: info });
    ctx.note('ON ONLY: creates an invalid parent index; attach the partitions’ indexes to make it valid');
    ctx.setWork('catalog');
  } else {
    // CREATE INDEX recurses to partitions, never to inheritance children.
    ctx.lock(name, mode, { table: info });
    for (const p of info?.partitions ?? []) ctx.lock(p, mode, { relkind: 'table', why: 'partition (an index is built on each)' });
    if (unknownRelation(info)) ctx.unknownOnce(`whether ${name} is partitioned (each partition is locked and indexed too)`);
    for (const d of ctx.dataTables(name, info)) ctx.scan(d, 'index-build');
    indexShapeFindings(ast, name, ctx);
  }
  if (concurrent) {
    ctx.note('CONCURRENTLY: reads and writes continue; it waits for transactions older than its snapshots');
    ctx.finding(
      'concurrently-leaves-invalid-index',
      `If CREATE INDEX CONCURRENTLY fails or is cancelled it leaves an INVALID index ${idxName ?? ''} that still slows writes.`.replace(
        '  ',
        ' ',
      ),
    );
  } else if (!fresh && !only) {
    ctx.finding(
      'create-index-blocks-writes',
      `CREATE INDEX takes SHARE on ${name}${rowsText(info)}: INSERT, UPDATE and DELETE wait until the index is built.`,
    );
  }
  if (info && idxName && !existing) {
    const columns = (ast.indexParams ?? []).map((p: any) => p.IndexElem?.name).filter(Boolean);
    const idx = { name: idxName, columns, unique: !!ast.unique, primary: !!ast.primary, valid: !only, ready: true };
    ctx.state.indexCreated(
      { schema: rel.schema, name: idxName },
      { index: idxName, table: name, tableKind: info.relkind, partitioned: info.relkind === 'p', valid: !only },
      info,
      idx,
    );
  }
}

export async function analyzeDropIndex(ast: any, ctx: StatementContext): Promise<void> {
  const concurrent = !!ast.concurrent;
  for (const obj of ast.objects ?? []) {
    const r = nameFromList(obj?.List?.items);
    if (!r) continue;
    const owner = await ctx.state.indexOwner(r);
    const idx = owner?.index ?? relText(r);
    if (!owner) {
      if (ctx.live && !ast.missing_ok) ctx.doubt(`index ${idx} not found: the statement would fail`);
      if (!ctx.live) ctx.unknownOnce(`which table index ${idx} belongs to (that table is locked too)`);
      ctx.lock(idx, 'AccessExclusiveLock', { relkind: 'index' });
      continue;
    }
    if (owner.constraint) {
      ctx.finding(
        'using-index-invalid',
        `Index ${idx} belongs to constraint ${owner.constraint}: DROP INDEX fails; drop the constraint instead.`,
        {
          severity: 'error',
          safe: `ALTER TABLE ${owner.table} DROP CONSTRAINT ${owner.constraint}`,
        },
      );
    }
    if (concurrent && owner.partitioned) {
      ctx.finding('concurrently-on-partitioned-table', `DROP INDEX CONCURRENTLY is not supported on partitioned index ${idx}.`, {
        safe: 'Drop it without CONCURRENTLY (it is quick on the parent), or drop each partition’s index concurrently after detaching.',
      });
    }
    const tableInfo = await ctx.state.relation(splitName(owner.table));
    if (concurrent) {
      ctx.lock(owner.table, 'ShareUpdateExclusiveLock', { relkind: owner.tableKind === 'p' ? 'partitioned table' : 'table' });
      ctx.lock(idx, 'AccessExclusiveLock', { relkind: 'index', why: 'taken at the end, once no transaction uses the index' });
      ctx.note('CONCURRENTLY: waits for transactions that use the table, then drops the index without blocking reads or writes');
    } else {
      ctx.lockWithChildren(owner.table, tableInfo, 'AccessExclusiveLock', 'partition (its index is dropped too)');
      ctx.lock(idx, 'AccessExclusiveLock', { relkind: 'index' });
      ctx.finding(
        'drop-index-blocks',
        `DROP INDEX takes ACCESS EXCLUSIVE on ${owner.table}: every query on it waits, and the drop waits for every running query.`,
      );
    }
    ctx.setWork('catalog');
    ctx.state.indexDropped(r, tableInfo);
  }
}

export async function analyzeReindex(ast: any, ctx: StatementContext): Promise<{ transactional?: boolean }> {
  const concurrent = hasOption(ast.params, 'concurrently');
  if (concurrent) ctx.requires(12, 'REINDEX CONCURRENTLY');
  const rel = rangeVar(ast.relation);
  const out: { transactional?: boolean } = {};
  switch (ast.kind) {
    case 'REINDEX_OBJECT_INDEX': {
      if (!rel) break;
      const owner = await ctx.state.indexOwner(rel);
      const idx = owner?.index ?? relText(rel);
      if (!owner) {
        if (!ctx.live) ctx.unknownOnce(`which table index ${idx} belongs to (that table is locked too)`);
        ctx.lock(idx, concurrent ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock', { relkind: 'index' });
        ctx.setWork('index-build');
        break;
      }
      const tableInfo = await ctx.state.relation(splitName(owner.table));
      if (owner.partitioned) out.transactional = false;
      ctx.lock(owner.table, concurrent ? 'ShareUpdateExclusiveLock' : 'ShareLock', {
        relkind: owner.tableKind === 'p' ? 'partitioned table' : 'table',
      });
      ctx.lock(idx, concurrent ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock', { relkind: 'index' });
      for (const d of ctx.dataTables(owner.table, tableInfo)) ctx.scan(d, 'index-build');
      if (!concurrent) {
        ctx.finding(
          'reindex-blocks',
          `REINDEX INDEX takes SHARE on ${owner.table} (writes wait) and ACCESS EXCLUSIVE on ${idx} (queries that would use it wait) until the rebuild ends.`,
        );
      } else ctx.note('CONCURRENTLY: builds a new copy next to the old one; reads and writes continue');
      break;
    }
    case 'REINDEX_OBJECT_TABLE': {
      if (!rel) break;
      const { name, info } = await ctx.table(rel);
      const tableMode = concurrent ? 'ShareUpdateExclusiveLock' : 'ShareLock';
      const indexMode = concurrent ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock';
      ctx.lock(name, tableMode, { table: info });
      if (info?.relkind === 'p') {
        // Each leaf partition is opened in its own transaction; those with indexes are rebuilt.
        out.transactional = false;
        for (const p of info.leafPartitions) {
          ctx.lock(p, tableMode, { relkind: 'table', why: 'partition, reindexed in its own transaction' });
          const pInfo = await ctx.state.relation(splitName(p));
          if (!pInfo || pInfo.indexes.size === 0) continue;
          for (const i of pInfo.indexes.values()) ctx.lock(i.name, indexMode, { relkind: 'index' });
          ctx.scan(p, 'index-build');
        }
      } else if (info && info.indexes.size === 0) {
        ctx.note(`${name} has no indexes: nothing to rebuild`);
      } else {
        for (const i of info?.indexes.values() ?? []) ctx.lock(i.name, indexMode, { relkind: 'index' });
        for (const d of ctx.dataTables(name, info)) ctx.scan(d, 'index-build');
        if (unknownRelation(info)) ctx.unknownOnce(`whether ${name} is partitioned (REINDEX then cannot run in a transaction block)`);
      }
      if (!concurrent) {
        ctx.finding(
          'reindex-blocks',
          `REINDEX TABLE takes SHARE on ${name}${rowsText(info)} (writes wait) and ACCESS EXCLUSIVE on each of its indexes while they are rebuilt.`,
        );
      }
      break;
    }
    default:
      ctx.doubt(`REINDEX ${String(ast.kind).replace('REINDEX_OBJECT_', '')} touches every table in it; locks are per table and not listed`);
      ctx.setWork('index-build');
      out.transactional = false;
  }
  return out;
}

/** More key columns than this in a non-unique b-tree is rarely worth its size and write cost. */
const MAX_INDEX_COLUMNS = 3;

function indexShapeFindings(ast: any, table: string, ctx: StatementContext): void {
  const keys = (ast.indexParams ?? []).length;
  const method: string = ast.accessMethod ?? 'btree';
  if (!ast.unique && !ast.primary && method === 'btree' && keys > MAX_INDEX_COLUMNS) {
    ctx.finding(
      'index-too-many-columns',
      `Non-unique index ${ast.idxname ?? ''} on ${table} has ${keys} key columns: only queries that use its leading columns benefit, and every write maintains all of them.`.replace(
        '  ',
        ' ',
      ),
    );
  }
}
