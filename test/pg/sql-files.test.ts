import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { listSqlFiles, sqlDir, sqlFileFor, sqlText } from '../../src/pg/sql-files.js';

describe('SQL files per server version', () => {
  it('picks the newest .pgNN file not newer than the server, else the base file', () => {
    const files = ['locks.sql', 'locks.pg14.sql', 'locks.pg16.sql', 'other.sql'];
    expect(sqlFileFor('locks', 130012, files)).toBe('locks.sql');
    expect(sqlFileFor('locks', 140000, files)).toBe('locks.pg14.sql');
    expect(sqlFileFor('locks', 150004, files)).toBe('locks.pg14.sql');
    expect(sqlFileFor('locks', 180001, files)).toBe('locks.pg16.sql');
    expect(sqlFileFor('missing', 170000, files)).toBeUndefined();
    expect(sqlFileFor('only', 130000, ['only.pg14.sql'])).toBeUndefined();
  });

  it('without a server version only the base file applies', () => {
    expect(sqlFileFor('locks', undefined, ['locks.sql', 'locks.pg14.sql'])).toBe('locks.sql');
    expect(sqlFileFor('only', undefined, ['only.pg14.sql'])).toBeUndefined();
  });

  it('ships every monitor probe as a .sql file', () => {
    const files = listSqlFiles('monitor/sql');
    for (const probe of ['activity', 'locks', 'index_progress', 'replication', 'sizes']) {
      expect(sqlFileFor(probe, 140000, files), probe).toBeDefined();
      expect(sqlText('monitor/sql', probe, 180000).length).toBeGreaterThan(50);
    }
    expect(sqlFileFor('locks', 170000, files)).toBe('locks.pg14.sql');
  });

  it('names the folder and the missing file when no file applies', () => {
    expect(() => sqlText('monitor/sql', 'no-such-probe', 170000)).toThrow(
      /no SQL file "no-such-probe" for server version 170000 in .*src\/monitor\/sql\//,
    );
  });

  it('every SQL file in the project is kebab-case and lives in a folder the loader reads', () => {
    for (const folder of ['monitor/sql', 'backfill/sql', 'rehearsal/sql', 'pg/sql', 'pg/catalog/sql', 'engine/sql']) {
      expect(existsSync(sqlDir(folder)), folder).toBe(true);
      for (const f of listSqlFiles(folder)) expect(f, `${folder}/${f}`).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*(\.pg\d+)?\.sql$/);
    }
  });
});
