// Domains and composite types used by tables. ALTER DOMAIN ... ADD CONSTRAINT (unless NOT VALID),
// SET NOT NULL and VALIDATE CONSTRAINT check every stored value: SHARE on each table with a column
// of the domain (writes wait) and a scan of it. ALTER TYPE ... ADD/DROP/ALTER ATTRIBUTE ... CASCADE
// changes the tables typed by the composite (CREATE TABLE ... OF) under ACCESS EXCLUSIVE.
import { strings } from './ast.js';
import type { TypeUser } from './analysis-catalog.js';
import type { StatementContext } from './context.js';

async function usersOf(typeName: any[], ctx: StatementContext): Promise<{ label: string; users: TypeUser[] | undefined }> {
  const parts = strings(typeName);
  const name = parts[parts.length - 1] ?? '';
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const label = parts.join('.');
  if (!ctx.live || !ctx.session.catalog) {
    ctx.unknownOnce(`which tables use ${label} (they are locked, and scanned when values are checked)`);
    return { label, users: undefined };
  }
  return { label, users: await ctx.session.catalog.typeUsers(schema, name) };
}

export async function analyzeAlterDomain(ast: any, ctx: StatementContext): Promise<void> {
  const checks = (ast.subtype === 'C' && !ast.def?.Constraint?.skip_validation) || ast.subtype === 'O' || ast.subtype === 'V';
  const { label, users } = await usersOf(ast.typeName, ctx);
  ctx.setWork('catalog');
  if (!checks) {
    ctx.note(`ALTER DOMAIN ${label}: a catalog change; stored values are not checked`);
    return;
  }
  const tables = [...new Set((users ?? []).filter((u) => u.column).map((u) => u.table))];
  for (const t of tables) {
    ctx.lock(t, 'ShareLock', { relkind: 'table', why: `has a column of domain ${label}, checked value by value` });
    const info = await ctx.state.relation({ name: t });
    for (const d of ctx.dataTables(t, info)) ctx.scan(d);
  }
  if (tables.length) {
    ctx.finding(
      'domain-check-scan',
      `ALTER DOMAIN ${label} checks every value in ${tables.join(', ')} while holding SHARE on ${tables.length > 1 ? 'them' : 'it'}: writes wait for the scan.`,
    );
  }
}

/** ALTER TYPE composite ADD / DROP / ALTER ATTRIBUTE (an AlterTableStmt on the type). */
export async function analyzeAlterCompositeType(ast: any, ctx: StatementContext): Promise<void> {
  const parts = [ast.relation?.schemaname, ast.relation?.relname].filter(Boolean).map((s: string) => ({ String: { sval: s } }));
  const { label, users } = await usersOf(parts, ctx);
  for (const u of users ?? []) {
    if (!u.column) ctx.lock(u.table, 'AccessExclusiveLock', { relkind: 'table', why: `typed by ${label} (CASCADE changes it too)` });
  }
  ctx.setWork('catalog');
}
