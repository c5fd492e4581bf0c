// Objects attached to a table: extended statistics, rules, policies, publication membership.
// CREATE STATISTICS and publication changes take SHARE UPDATE EXCLUSIVE on the table (reads and
// writes continue); CREATE RULE and ALTER POLICY take ACCESS EXCLUSIVE (they change what queries see).
import { rangeVar } from './ast.js';
import type { StatementContext } from './context.js';

export async function analyzeCreateStatistics(ast: any, ctx: StatementContext): Promise<void> {
  for (const r of ast.relations ?? []) {
    const rel = rangeVar(r.RangeVar);
    if (!rel) continue;
    const { name, info } = await ctx.table(rel);
    ctx.lock(name, 'ShareUpdateExclusiveLock', { table: info });
  }
  ctx.note('extended statistics are filled by the next ANALYZE: no scan now');
  ctx.setWork('catalog');
}

/** CREATE RULE, CREATE / ALTER POLICY: ACCESS EXCLUSIVE on the table (`relation` is its RangeVar). */
export async function lockTableExclusively(relation: any, ctx: StatementContext): Promise<void> {
  const rel = rangeVar(relation);
  if (!rel) return;
  const { name, info } = await ctx.table(rel);
  ctx.lock(name, 'AccessExclusiveLock', { table: info });
  ctx.setWork('catalog');
}

/** CREATE PUBLICATION ... FOR TABLE / ALTER PUBLICATION ... ADD | SET | DROP TABLE. */
export async function analyzePublication(ast: any, ctx: StatementContext): Promise<void> {
  for (const o of ast.pubobjects ?? []) {
    const rel = rangeVar(o.PublicationObjSpec?.pubtable?.relation);
    if (!rel) {
      if (o.PublicationObjSpec?.pubobjtype === 'PUBLICATIONOBJ_TABLES_IN_SCHEMA')
        ctx.doubt('TABLES IN SCHEMA: every table in the schema is locked in SHARE UPDATE EXCLUSIVE');
      continue;
    }
    const { name, info } = await ctx.table(rel);
    ctx.lock(name, 'ShareUpdateExclusiveLock', { table: info, why: 'publication membership' });
  }
  if (ast.for_all_tables) ctx.note('FOR ALL TABLES changes no table lock');
  ctx.setWork('catalog');
}
