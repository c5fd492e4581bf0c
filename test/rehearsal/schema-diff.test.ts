import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { diffSchemas, schemaSnapshot } from '../../src/rehearsal/schema-diff.js';

describe('schemaDiff', () => {
  const db = useTestDatabase();

  it('sees columns, constraints and indexes come and go, and ignores pgrunbook’s own schemas', async () => {
    await db.query(`create table t (id int primary key, a text)`);
    const before = await schemaSnapshot(db.pool);
    await db.query(`alter table t add column b bigint; create index t_b on t (b); alter table t add constraint b_pos check (b > 0) not valid;
                    create schema pgrunbook_rehearsal; create table pgrunbook_rehearsal.x (id int)`);
    const mid = await schemaSnapshot(db.pool);
    const d = diffSchemas(before, mid);
    expect(d.same).toBe(false);
    expect(d.added.some((l) => /^column public\.t\.b bigint$/.test(l))).toBe(true);
    expect(d.added.some((l) => /^index public\.t_b /.test(l))).toBe(true);
    expect(d.added.some((l) => /constraint public\.t\.b_pos .*\(not validated\)/.test(l))).toBe(true);
    expect(d.added.some((l) => l.includes('pgrunbook_rehearsal'))).toBe(false);
    expect(d.removed).toEqual([]);

    // Dropping restores the logical schema even though attnums moved on.
    await db.query(`drop index t_b; alter table t drop constraint b_pos; alter table t drop column b`);
    expect(diffSchemas(before, await schemaSnapshot(db.pool)).same).toBe(true);

    await db.query(`alter table t alter column a set not null`);
    const d2 = diffSchemas(before, await schemaSnapshot(db.pool));
    expect(d2.removed).toEqual(['column public.t.a text']);
    expect(d2.added).toEqual(['column public.t.a text not null']);
  });
});
