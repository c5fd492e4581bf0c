// ALTER TABLE subcommands about the table as a whole: storage parameters, LOGGED/UNLOGGED,
// REPLICA IDENTITY, CLUSTER ON, triggers, rules, row security, owner, tablespace, access method.
import { rangeVar } from './ast.js';
import type { LockMode } from '../pg/lock-modes.js';
import type { StatementContext } from './context.js';
import type { AlterTarget, SubcommandResult } from './alter-target.js';
import { stronger } from './locks.js';
import { rowsText } from './column-changes.js';

export const TABLE_OPTION_SUBTYPES = new Set([
  'AT_SetRelOptions',
  'AT_ResetRelOptions',
  'AT_ReplaceRelOptions',
  'AT_SetLogged',
  'AT_SetUnLogged',
  'AT_ReplicaIdentity',
  'AT_ClusterOn',
  'AT_DropCluster',
  'AT_EnableTrig',
  'AT_EnableAlwaysTrig',
  'AT_EnableReplicaTrig',
  'AT_EnableTrigAll',
  'AT_EnableTrigUser',
  'AT_DisableTrig',
  'AT_DisableTrigAll',
  'AT_DisableTrigUser',
  'AT_EnableRule',
  'AT_EnableAlwaysRule',
  'AT_EnableReplicaRule',
  'AT_DisableRule',
  'AT_EnableRowSecurity',
  'AT_DisableRowSecurity',
  'AT_ForceRowSecurity',
  'AT_NoForceRowSecurity',
  'AT_ChangeOwner',
  'AT_SetTableSpace',
  'AT_SetAccessMethod',
  'AT_AddInherit',
  'AT_DropInherit',
  'AT_AddOf',
  'AT_DropOf',
  'AT_GenericOptions',
]);

/**
 * Storage parameters and the lock each needs (reloptions.c). Everything the autovacuum daemon,
 * VACUUM or the planner reads takes SHARE UPDATE EXCLUSIVE; options that change query results
 * (views' security_barrier/check_option, user_catalog_table) take ACCESS EXCLUSIVE.
 */
const ACCESS_EXCLUSIVE_OPTIONS = new Set(['user_catalog_table', 'security_barrier', 'check_option', 'security_invoker', 'buffering']);

export function relOptionLock(defs: any[]): LockMode {
  let mode: LockMode = 'ShareUpdateExclusiveLock';
  for (const d of defs) {
    const name: string = d?.DefElem?.defname ?? '';
    if (ACCESS_EXCLUSIVE_OPTIONS.has(name)) mode = stronger(mode, 'AccessExclusiveLock');
  }
  return mode;
}

export async function analyzeTableOption(cmd: any, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  switch (cmd.subtype) {
    case 'AT_SetRelOptions':
    case 'AT_ResetRelOptions': {
      const defs = cmd.def?.List?.items ?? [];
      ctx.note('storage parameters apply from now on: no rewrite');
      ctx.setWork('catalog');
      return { mode: relOptionLock(defs), recurse: false };
    }
    case 'AT_ReplaceRelOptions':
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock', recurse: false };
    case 'AT_SetLogged':
    case 'AT_SetUnLogged':
      return setLogged(cmd.subtype === 'AT_SetLogged' ? 'p' : 'u', t, ctx);
    case 'AT_ReplicaIdentity':
      ctx.note('REPLICA IDENTITY is a catalog change (FULL makes logical replication log whole old rows)');
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock', recurse: false };
    case 'AT_ClusterOn':
    case 'AT_DropCluster':
      ctx.note('only marks the index CLUSTER uses: no rewrite');
      ctx.setWork('catalog');
      return { mode: 'ShareUpdateExclusiveLock', recurse: false };
    case 'AT_EnableTrig':
    case 'AT_EnableAlwaysTrig':
    case 'AT_EnableReplicaTrig':
    case 'AT_EnableTrigAll':
    case 'AT_EnableTrigUser':
    case 'AT_DisableTrig':
    case 'AT_DisableTrigAll':
    case 'AT_DisableTrigUser':
      return enableTriggers(cmd, t, ctx);
    case 'AT_EnableRule':
    case 'AT_EnableAlwaysRule':
    case 'AT_EnableReplicaRule':
    case 'AT_DisableRule':
    case 'AT_EnableRowSecurity':
    case 'AT_DisableRowSecurity':
    case 'AT_ForceRowSecurity':
    case 'AT_NoForceRowSecurity':
    case 'AT_ChangeOwner':
    case 'AT_GenericOptions':
    case 'AT_AddOf':
    case 'AT_DropOf':
      ctx.setWork('catalog');
      return { mode: 'AccessExclusiveLock', recurse: false };
    case 'AT_SetTableSpace':
      return setTablespace(cmd.name, t, ctx);
    case 'AT_SetAccessMethod':
      if (ctx.requires(15, 'SET ACCESS METHOD')) setAccessMethod(cmd.name, t, ctx);
      return { mode: 'AccessExclusiveLock', recurse: false };
    case 'AT_AddInherit':
    case 'AT_DropInherit':
      return inherit(cmd, t, ctx);
  }
  return { mode: 'AccessExclusiveLock' };
}

/** SET LOGGED / UNLOGGED rewrites the table, unless it already is so (or is a sequence). */
function setLogged(want: 'p' | 'u', t: AlterTarget, ctx: StatementContext): SubcommandResult {
  if (t.objtype === 'OBJECT_SEQUENCE' || t.info?.relkind === 'S') {
    ctx.note('a sequence is one page: switching its WAL logging is instant');
    ctx.setWork('catalog');
  } else if (t.info && !t.info.partial && t.info.persistence === want) {
    ctx.note(`${t.name} is already ${want === 'p' ? 'LOGGED' : 'UNLOGGED'}: nothing to do`);
    ctx.setWork('catalog');
  } else {
    for (const d of ctx.dataTables(t.name, t.info)) ctx.rewrite(d);
    const what = want === 'p' ? 'SET LOGGED' : 'SET UNLOGGED';
    ctx.finding(
      'set-logged-rewrite',
      `${what} rewrites ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE${want === 'p' ? ' and writes all of it to WAL' : ''}.`,
    );
    if (t.info) t.info.persistence = want;
  }
  return { mode: 'AccessExclusiveLock', recurse: false };
}

/** ENABLE / DISABLE TRIGGER: SHARE ROW EXCLUSIVE, passed on to partitions that carry the triggers. */
function enableTriggers(cmd: any, t: AlterTarget, ctx: StatementContext): SubcommandResult {
  const all = /All$/.test(cmd.subtype);
  if (all) ctx.note('ALL includes the internal foreign-key triggers: disabling them stops FK checks');
  ctx.finding('trigger-lock', `Enabling or disabling triggers takes SHARE ROW EXCLUSIVE on ${t.name}: writes wait while it is held.`);
  ctx.setWork('catalog');
  // On a partitioned table the change goes to the partitions' clones of the affected triggers.
  let recurse = false;
  if (t.info?.relkind === 'p') {
    const trig = t.info.triggers;
    if (!trig) ctx.doubt(`whether ${t.name}'s partitions carry the affected triggers (then they are locked too)`);
    else if (all) recurse = trig.length > 0;
    else if (/User$/.test(cmd.subtype)) recurse = trig.some((x) => !x.internal);
    else recurse = trig.some((x) => x.name === cmd.name);
  }
  return { mode: 'ShareRowExclusiveLock', recurse };
}

/** INHERIT locks the new parent against schema changes; NO INHERIT only reads the old one. */
async function inherit(cmd: any, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  const parent = rangeVar(cmd.def?.RangeVar ?? cmd.def);
  if (parent) {
    const { name, info } = await ctx.table(parent);
    ctx.lock(name, cmd.subtype === 'AT_AddInherit' ? 'ShareUpdateExclusiveLock' : 'AccessShareLock', {
      table: info,
      why: 'inheritance parent',
    });
  }
  ctx.setWork('catalog');
  return { mode: 'AccessExclusiveLock', recurse: false };
}

/** The table is already where SET TABLESPACE would put it: PostgreSQL does nothing (no copy). */
function setTablespace(target: string, t: AlterTarget, ctx: StatementContext): SubcommandResult {
  if (t.objtype === 'OBJECT_SEQUENCE' || t.info?.relkind === 'S') {
    ctx.setWork('catalog');
    return { mode: 'AccessExclusiveLock', recurse: false };
  }
  const current = t.info?.partial ? undefined : t.info?.tablespace;
  if (current !== undefined && current === target) {
    ctx.note(`${t.name} is already in tablespace ${target}: nothing is copied`);
    ctx.setWork('catalog');
    return { mode: 'AccessExclusiveLock', recurse: false };
  }
  if (current === undefined) ctx.unknownOnce(`which tablespace ${t.name} is in (no copy when it is already in ${target})`);
  // The files are copied block by block: new storage, but no row is read through a scan.
  for (const d of ctx.dataTables(t.name, t.info)) ctx.rewrite(d, 'files');
  ctx.finding('rewrite-table', `SET TABLESPACE copies ${t.name}${rowsText(t.info)} to tablespace ${target} under ACCESS EXCLUSIVE.`);
  return { mode: 'AccessExclusiveLock', recurse: false };
}

/** SET ACCESS METHOD to the one the table already uses (DEFAULT: default_table_access_method) rewrites nothing. */
function setAccessMethod(target: string | undefined, t: AlterTarget, ctx: StatementContext): void {
  const wanted = target ?? DEFAULT_TABLE_ACCESS_METHOD;
  const current = t.info?.partial ? undefined : t.info?.accessMethod;
  if (current !== undefined && current === wanted) {
    ctx.note(`${t.name} already uses access method ${wanted}: no rewrite`);
    if (!target) ctx.doubt(`DEFAULT is taken as ${DEFAULT_TABLE_ACCESS_METHOD} (default_table_access_method)`);
    ctx.setWork('catalog');
    return;
  }
  if (current === undefined) ctx.unknownOnce(`which access method ${t.name} uses (no rewrite when it already uses ${wanted})`);
  for (const d of ctx.dataTables(t.name, t.info)) ctx.rewrite(d);
  ctx.finding('rewrite-table', `SET ACCESS METHOD ${wanted} rewrites ${t.name}${rowsText(t.info)} under ACCESS EXCLUSIVE.`);
}

const DEFAULT_TABLE_ACCESS_METHOD = 'heap';
