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

describe('schemaDiff beyond columns', () => {
  const db = useTestDatabase();

  it('sees sequence types and options, owners, grants, comments, settings, triggers, types and publication membership', async () => {
    await db.query(`
      DO $$ BEGIN CREATE ROLE diff_owner; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
      DO $$ BEGIN CREATE ROLE diff_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
      create table acc (id serial primary key, email text, n int);
      create type mood as enum ('ok', 'sad');
      create function touch() returns trigger language plpgsql as 'begin return new; end';
      create publication diff_pub`);
    const before = await schemaSnapshot(db.pool);
    const changes: [string, RegExp][] = [
      ['alter sequence acc_id_seq as bigint', /^sequence public\.acc_id_seq bigint .*max 9223372036854775807/],
      ['alter sequence acc_id_seq cache 10', /^sequence public\.acc_id_seq integer .*cache 10$/],
      ['alter sequence acc_id_seq owned by none', /^sequence public\.acc_id_seq owned by/],
      ['alter table acc owner to diff_owner', /^owner public\.acc diff_owner$/],
      ['grant select on acc to diff_reader', /^grant public\.acc diff_reader=r\//],
      ['grant update (email) on acc to diff_reader', /^grant public\.acc\.email diff_reader=w\//],
      [`comment on table acc is 'accounts'`, /^comment table public\.acc: accounts$/],
      [`comment on column acc.email is 'login'`, /^comment table column public\.acc\.email: login$/],
      ['alter table acc set (fillfactor = 70)', /^options public\.acc \{fillfactor=70\} replica identity d$/],
      ['alter table acc replica identity full', /^options public\.acc \{\} replica identity f$/],
      ['alter table acc alter column n set statistics 800', /^column-settings public\.acc\.n statistics 800 /],
      ['alter table acc alter column n set (n_distinct = 5)', /^column-settings public\.acc\.n .*options \{n_distinct=5\}/],
      [
        'create trigger t before insert on acc for each row execute function touch()',
        /^trigger public\.acc CREATE TRIGGER t BEFORE INSERT/,
      ],
      [`alter type mood add value 'glad'`, /^type public\.mood e ok,sad,glad/],
      ['alter publication diff_pub add table acc', /^publication diff_pub table public\.acc/],
    ];
    for (const [sql, line] of changes) {
      await db.query(`begin; ${sql}`);
      const d = diffSchemas(before, await schemaSnapshot(db.pool));
      await db.query('rollback');
      expect(d.same, sql).toBe(false);
      expect(
        [...d.added, ...d.removed].some((l) => line.test(l)),
        `${sql}: ${JSON.stringify(d)}`,
      ).toBe(true);
    }
    expect(diffSchemas(before, await schemaSnapshot(db.pool)).same).toBe(true);
  });
});
