// The offline list of volatile built-ins must match pg_proc on real servers, and the live catalog
// must see what the list cannot (user functions).
import { describe, expect, it } from 'vitest';
import { NON_VOLATILE_BUILTINS, VOLATILE_BUILTINS, expressionVolatility } from '../../src/analyze/volatility.js';
import { LiveCatalog } from '../../src/analyze/live-catalog.js';
import { loadParser, parseStatements } from '../../src/pg/sqlparse.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';

async function defaultExpr(sql: string): Promise<any> {
  await loadParser();
  return parseStatements(`ALTER TABLE t ADD COLUMN c int DEFAULT ${sql}`)[0]!.ast.cmds[0].AlterTableCmd.def.ColumnDef.constraints[0]
    .Constraint.raw_expr;
}

for (const major of edgeMajors()) {
  describe(`volatility on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('the offline lists agree with pg_proc', async () => {
      const rows = await db.query<{ proname: string; v: string[] }>(
        `SELECT proname::text, array_agg(DISTINCT provolatile::text) AS v FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace GROUP BY proname`,
      );
      const byName = new Map(rows.map((r) => [r.proname, r.v]));
      for (const name of VOLATILE_BUILTINS) {
        const v = byName.get(name);
        if (v) expect(v, name).toContain('v'); // extension functions (uuid-ossp, pgcrypto) are absent here
      }
      for (const [name, vol] of Object.entries(NON_VOLATILE_BUILTINS)) {
        const v = byName.get(name);
        if (!v) continue; // keywords such as coalesce are not functions
        expect(v, name).not.toContain('v');
        if (vol === 'immutable') expect(v, name).toEqual(['i']);
      }
    });

    it('reads user functions from the live catalog', async () => {
      await db.query(`CREATE FUNCTION next_code() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT 1'`);
      await db.query(`CREATE FUNCTION fixed_code() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1'`);
      const cat = new LiveCatalog(db.pool);
      expect((await expressionVolatility(await defaultExpr('next_code()'), cat)).volatility).toBe('volatile');
      expect((await expressionVolatility(await defaultExpr('fixed_code() + 1'), cat)).volatility).toBe('immutable');
      expect((await expressionVolatility(await defaultExpr('now()'), cat)).volatility).toBe('stable');
      const off = await expressionVolatility(await defaultExpr('next_code()'), undefined);
      expect(off.unknown).toEqual(['next_code()']);
    });
  });
}
