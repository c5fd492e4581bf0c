// ALTER COLUMN ... TYPE decisions (no database): binary-coercible widenings, numeric precision,
// timestamp <-> timestamptz by TimeZone, USING. The empirical suite checks them on real servers.
import { describe, expect, it } from 'vitest';
import { decideTypeChange, isZeroOffsetZone } from '../../src/analyze/type-change.js';
import type { ColumnInfo } from '../../src/analyze/analysis-catalog.js';
import { typeName } from '../../src/analyze/ast.js';
import { loadParser, parseStatements } from '../../src/pg/sqlparse.js';

function col(typname: string, mods: number[] = [], type = typname): ColumnInfo {
  return {
    name: 'c',
    type,
    typname,
    typschema: 'pg_catalog',
    mods,
    notNull: false,
    domainWithConstraints: false,
    identity: false,
    generated: false,
  };
}

async function target(sql: string) {
  await loadParser();
  const cmd = parseStatements(`ALTER TABLE t ALTER COLUMN c TYPE ${sql}`)[0]!.ast.cmds[0].AlterTableCmd;
  return { type: typeName(cmd.def.ColumnDef.typeName)!, using: cmd.def.ColumnDef.raw_default };
}

async function decide(c: ColumnInfo, sql: string, timeZone?: string) {
  const t = await target(sql);
  return decideTypeChange(c, t.type, { using: t.using, timeZone });
}

describe('decideTypeChange', () => {
  it('varchar: widening or to text keeps the storage, shrinking rewrites', async () => {
    expect((await decide(col('varchar', [50]), 'varchar(100)')).rewrite).toBe(false);
    expect((await decide(col('varchar', [50]), 'varchar')).rewrite).toBe(false);
    expect((await decide(col('varchar', [50]), 'text')).rewrite).toBe(false);
    expect((await decide(col('varchar', [50]), 'varchar(20)')).rewrite).toBe(true);
    expect((await decide(col('text'), 'varchar(20)')).rewrite).toBe(true);
    expect((await decide(col('text'), 'varchar')).rewrite).toBe(false);
  });

  it('numeric: precision up with the same scale is free, a scale change is not', async () => {
    expect((await decide(col('numeric', [10, 2]), 'numeric(12,2)')).rewrite).toBe(false);
    expect((await decide(col('numeric', [10, 2]), 'numeric')).rewrite).toBe(false);
    expect((await decide(col('numeric', [10, 2]), 'numeric(12,4)')).rewrite).toBe(true);
    expect((await decide(col('numeric', [10, 2]), 'numeric(8,2)')).rewrite).toBe(true);
    expect((await decide(col('numeric'), 'numeric(10,2)')).rewrite).toBe(true);
  });

  it('timestamp <-> timestamptz depends on the session TimeZone', async () => {
    expect((await decide(col('timestamp'), 'timestamptz', 'UTC')).rewrite).toBe(false);
    expect((await decide(col('timestamptz'), 'timestamp', 'Etc/UTC')).rewrite).toBe(false);
    expect((await decide(col('timestamp'), 'timestamp with time zone', 'Europe/Berlin')).rewrite).toBe(true);
    const unknown = await decide(col('timestamp'), 'timestamptz');
    expect(unknown.rewrite).toBe(true);
    expect(unknown.uncertain).toMatch(/TimeZone/);
  });

  it('int -> bigint and text -> enum rewrite; USING an expression always does', async () => {
    expect((await decide(col('int4'), 'bigint')).rewrite).toBe(true);
    expect((await decide(col('text'), 'mood USING c::mood')).rewrite).toBe(true);
    expect((await decide(col('varchar', [10]), 'text USING lower(c)')).rewrite).toBe(true);
    expect((await decide(col('varchar', [10]), 'text USING c')).rewrite).toBe(false);
  });

  it('recognises zero-offset zones', () => {
    for (const z of ['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT+0', 'Zulu', '+00:00', '0']) expect(isZeroOffsetZone(z)).toBe(true);
    for (const z of ['Europe/London', 'Europe/Berlin', 'America/New_York', '+01:00']) expect(isZeroOffsetZone(z)).toBe(false);
    expect(isZeroOffsetZone(undefined)).toBeUndefined();
  });
});
