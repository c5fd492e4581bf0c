// ATTACH / DETACH PARTITION and CREATE TABLE ... PARTITION OF.
// ATTACH takes SHARE UPDATE EXCLUSIVE on the parent and ACCESS EXCLUSIVE on the new partition,
// which it scans to prove the bound unless a validated CHECK already implies it; a default
// partition is locked and scanned too. DETACH takes ACCESS EXCLUSIVE on both; DETACH ...
// CONCURRENTLY (PG14+) runs in two transactions with SHARE UPDATE EXCLUSIVE.
import { rangeVar } from './ast.js';
import { unknownRelation, type TableInfo } from './analysis-catalog.js';
import type { StatementContext } from './context.js';
import type { AlterTarget, SubcommandResult } from './alter-target.js';
import { rowsText } from './column-changes.js';

export const PARTITION_SUBTYPES = new Set(['AT_AttachPartition', 'AT_DetachPartition', 'AT_DetachPartitionFinalize']);

export async function analyzePartitionCommand(cmd: any, t: AlterTarget, ctx: StatementContext): Promise<SubcommandResult> {
  const pc = cmd.def?.PartitionCmd;
  const part = rangeVar(pc?.name);
  if (!part) return { mode: 'AccessExclusiveLock', recurse: false };
  const { name: partName, info: partInfo } = await ctx.table(part);
  switch (cmd.subtype) {
    case 'AT_AttachPartition':
      await attach(t, partName, partInfo, ctx);
      return { mode: 'ShareUpdateExclusiveLock', recurse: false };
    case 'AT_DetachPartition':
      if (pc.concurrent) {
        ctx.requires(14, 'DETACH PARTITION ... CONCURRENTLY');
        ctx.lockWithChildren(partName, partInfo, 'AccessExclusiveLock', 'sub-partition of the detached partition');
        ctx.note('CONCURRENTLY: SHARE UPDATE EXCLUSIVE on the parent; runs in two transactions and waits for queries that use the parent');
        if (t.info?.defaultPartition) {
          ctx.finding(
            'detach-partition-blocks',
            `DETACH ... CONCURRENTLY is not allowed while ${t.name} has a default partition (${t.info.defaultPartition}).`,
            {
              severity: 'error',
              safe: 'Detach without CONCURRENTLY in a quiet window, or move the default partition out first.',
            },
          );
        }
        ctx.setWork('catalog');
        removePartition(t.info, partName);
        return { mode: 'ShareUpdateExclusiveLock', recurse: false };
      }
      ctx.lockWithChildren(partName, partInfo, 'AccessExclusiveLock', 'sub-partition of the detached partition');
      if (t.info?.defaultPartition)
        ctx.lock(t.info.defaultPartition, 'AccessExclusiveLock', {
          relkind: 'table',
          why: 'default partition (its implicit bound changes)',
        });
      ctx.finding(
        'detach-partition-blocks',
        `DETACH PARTITION takes ACCESS EXCLUSIVE on ${t.name}: every query on the partitioned table waits.`,
      );
      ctx.setWork('catalog');
      removePartition(t.info, partName);
      return { mode: 'AccessExclusiveLock', recurse: false };
    case 'AT_DetachPartitionFinalize':
      ctx.requires(14, 'DETACH PARTITION ... FINALIZE');
      ctx.lock(partName, 'AccessExclusiveLock', { table: partInfo, why: 'partition being detached' });
      ctx.setWork('catalog');
      return { mode: 'ShareUpdateExclusiveLock', recurse: false };
  }
  return { mode: 'AccessExclusiveLock', recurse: false };
}

function removePartition(parent: TableInfo | undefined, name: string): void {
  if (!parent) return;
  parent.partitions = parent.partitions.filter((p) => p !== name);
  parent.leafPartitions = parent.leafPartitions.filter((p) => p !== name);
  if (parent.defaultPartition === name) parent.defaultPartition = undefined;
}

async function attach(t: AlterTarget, partName: string, partInfo: TableInfo | undefined, ctx: StatementContext): Promise<void> {
  ctx.lockWithChildren(partName, partInfo, 'AccessExclusiveLock', 'sub-partition of the attached table');
  // A validated CHECK on the partition key columns may prove the bound (PostgreSQL then skips the scan).
  const checks = [...(partInfo?.constraints.values() ?? [])].filter((c) => c.type === 'check' && c.validated);
  if (checks.length) {
    ctx.note(
      `validated CHECK ${checks.map((c) => c.name).join(', ')} on ${partName}: if it implies the partition bound, PostgreSQL skips the scan`,
    );
    ctx.doubt(`whether CHECK ${checks.map((c) => c.name).join(', ')} implies the partition bound (assumed it does: no scan)`);
    ctx.setWork('catalog');
  } else {
    for (const d of ctx.dataTables(partName, partInfo)) ctx.scan(d);
    if (unknownRelation(partInfo))
      ctx.unknownOnce(`whether ${partName} has a CHECK constraint that implies the bound (it would skip the scan)`);
    ctx.finding(
      'attach-partition-scan',
      `ATTACH PARTITION scans ${partName}${rowsText(partInfo)} to check the bound while holding ACCESS EXCLUSIVE on it.`,
    );
  }
  if (t.info?.defaultPartition) {
    ctx.lock(t.info.defaultPartition, 'AccessExclusiveLock', {
      relkind: 'table',
      why: 'default partition, scanned for rows that belong to the new partition',
    });
    ctx.scan(t.info.defaultPartition);
    ctx.finding(
      'default-partition-scan',
      `The default partition ${t.info.defaultPartition} is scanned under ACCESS EXCLUSIVE for rows that belong to ${partName}.`,
    );
  } else if (unknownRelation(t.info)) ctx.unknownOnce(`whether ${t.name} has a default partition (it would be locked and scanned)`);
  // Indexes of the parent that the new partition lacks are built on it.
  if (t.info && partInfo) {
    const missing = [...t.info.indexes.values()].filter(
      (pi) => ![...partInfo.indexes.values()].some((ci) => ci.columns.join(',') === pi.columns.join(',') && ci.unique === pi.unique),
    );
    if (missing.length) {
      for (const d of ctx.dataTables(partName, partInfo)) ctx.scan(d, 'index-build');
      ctx.note(`indexes ${missing.map((i) => i.name).join(', ')} of ${t.name} are built on ${partName} while it is locked`);
    }
  }
  if (t.info && !t.info.partitions.includes(partName)) {
    t.info.partitions.push(partName);
    if (partInfo?.relkind !== 'p') t.info.leafPartitions.push(partName);
  }
}

/** CREATE TABLE ... PARTITION OF parent: ACCESS EXCLUSIVE on the parent; the default partition is scanned. */
export async function analyzeCreatePartitionOf(parentRv: any, newName: string, ctx: StatementContext): Promise<void> {
  const parent = rangeVar(parentRv);
  if (!parent) return;
  const { name, info } = await ctx.table(parent);
  ctx.lock(name, 'AccessExclusiveLock', { table: info, why: 'partitioned parent' });
  ctx.finding('create-partition-locks-parent', `CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE on ${name}: every query on it waits.`);
  if (info?.defaultPartition) {
    ctx.lock(info.defaultPartition, 'AccessExclusiveLock', {
      relkind: 'table',
      why: 'default partition, scanned for rows that belong to the new partition',
    });
    ctx.scan(info.defaultPartition);
    ctx.finding('default-partition-scan', `The default partition ${info.defaultPartition} is scanned for rows that belong to ${newName}.`);
  } else if (unknownRelation(info)) ctx.unknownOnce(`whether ${name} has a default partition (it would be locked and scanned)`);
  if (info) {
    info.partitions.push(newName);
    info.leafPartitions.push(newName);
  }
}
