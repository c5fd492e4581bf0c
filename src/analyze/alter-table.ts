// ALTER TABLE: the statement takes the strongest lock any of its subcommands needs
// (AlterTableGetLockLevel in tablecmds.c) and recurses to partitions / inheritance children.
import type { LockMode } from '../pg/lock-modes.js';
import { rangeVar, type RelName } from './ast.js';
import type { AlterTarget, SubcommandResult } from './alter-target.js';
import type { StatementContext } from './context.js';
import { stronger } from './locks.js';
import { analyzeAddColumn } from './add-column.js';
import { analyzeColumnCommand, COLUMN_SUBTYPES } from './column-changes.js';
import { analyzeConstraintCommand, CONSTRAINT_SUBTYPES } from './constraints.js';
import { analyzeTableOption, TABLE_OPTION_SUBTYPES } from './table-options.js';
import { analyzePartitionCommand, PARTITION_SUBTYPES } from './partitions.js';
import { analyzeAlterCompositeType } from './domains.js';

export async function analyzeAlterTable(ast: any, ctx: StatementContext): Promise<void> {
  if (ast.objtype === 'OBJECT_TYPE') return analyzeAlterCompositeType(ast, ctx);
  const rel = rangeVar(ast.relation);
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  const target: AlterTarget = { rel, name, info, recurse: ast.relation?.inh === true, objtype: ast.objtype ?? 'OBJECT_TABLE' };
  if (ast.objtype === 'OBJECT_INDEX') return analyzeAlterIndex(ast, target, ctx);

  let mode: LockMode | undefined;
  let recurse = false;
  for (const c of ast.cmds ?? []) {
    const cmd = c.AlterTableCmd;
    if (!cmd) continue;
    const r = await analyzeSubcommand(cmd, target, ctx);
    mode = mode ? stronger(mode, r.mode) : r.mode;
    if (r.recurse !== false) recurse = true;
  }
  if (!mode) return;
  if (recurse && target.recurse) ctx.lockWithChildren(name, info, mode);
  else ctx.lock(name, mode, { table: info });
}

async function analyzeSubcommand(cmd: any, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  const st: string = cmd.subtype;
  if (st === 'AT_AddColumn' || st === 'AT_AddColumnToView') return analyzeAddColumn(cmd, t, ctx);
  if (COLUMN_SUBTYPES.has(st)) return analyzeColumnCommand(cmd, t, ctx);
  if (CONSTRAINT_SUBTYPES.has(st)) return analyzeConstraintCommand(cmd, t, ctx);
  if (PARTITION_SUBTYPES.has(st)) return analyzePartitionCommand(cmd, t, ctx);
  if (TABLE_OPTION_SUBTYPES.has(st)) return analyzeTableOption(cmd, t, ctx);
  // New subcommands default to ACCESS EXCLUSIVE in PostgreSQL too.
  ctx.doubt(`ALTER TABLE subcommand ${st.replace(/^AT_/, '')} is not modeled; assuming ACCESS EXCLUSIVE`);
  ctx.setWork('unknown');
  return { mode: 'AccessExclusiveLock' };
}

/** ALTER INDEX ... SET (...) / ATTACH PARTITION / SET TABLESPACE. */
async function analyzeAlterIndex(ast: any, t: AlterTarget, ctx: StatementContext): Promise<void> {
  const owner = await ctx.state.indexOwner(t.rel);
  const indexName = owner?.index ?? t.name;
  for (const c of ast.cmds ?? []) {
    const cmd = c.AlterTableCmd;
    switch (cmd?.subtype) {
      case 'AT_SetRelOptions':
      case 'AT_ResetRelOptions':
        ctx.lock(indexName, 'ShareUpdateExclusiveLock', { relkind: 'index' });
        ctx.setWork('catalog');
        break;
      case 'AT_AttachPartition': {
        const part = rangeVar(cmd.def?.PartitionCmd?.name);
        ctx.lock(indexName, 'ShareUpdateExclusiveLock', { relkind: 'index' });
        // Both tables are read to check that the index matches the partition.
        if (owner)
          ctx.lock(owner.table, 'AccessShareLock', {
            relkind: owner.tableKind === 'p' ? 'partitioned table' : 'table',
            why: 'table of the partitioned index',
          });
        if (part) {
          const p = await ctx.state.indexOwner(part);
          ctx.lock(p?.index ?? part.name, 'AccessExclusiveLock', { relkind: 'index', why: 'index being attached' });
          if (p) ctx.lock(p.table, 'AccessShareLock', { relkind: 'table', why: 'table of the index being attached' });
        }
        ctx.setWork('catalog');
        break;
      }
      case 'AT_SetTableSpace':
        ctx.lock(indexName, 'AccessExclusiveLock', { relkind: 'index' });
        ctx.setWork('index-build');
        ctx.note('the index files are copied to the new tablespace');
        break;
      default:
        ctx.lock(indexName, 'AccessExclusiveLock', { relkind: 'index' });
        ctx.doubt(`ALTER INDEX ${String(cmd?.subtype).replace(/^AT_/, '')} is not modeled; assuming ACCESS EXCLUSIVE on the index`);
        ctx.setWork('unknown');
    }
  }
}
