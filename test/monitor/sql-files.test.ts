import { describe, expect, it } from 'vitest';
import { listSqlFiles, probeFileFor, probeSql } from '../../src/monitor/sql-files.js';

describe('probe SQL per server version', () => {
  it('picks the newest .pgNN file not newer than the server, else the base file', () => {
    const files = ['locks.sql', 'locks.pg14.sql', 'locks.pg16.sql', 'other.sql'];
    expect(probeFileFor('locks', 130012, files)).toBe('locks.sql');
    expect(probeFileFor('locks', 140000, files)).toBe('locks.pg14.sql');
    expect(probeFileFor('locks', 150004, files)).toBe('locks.pg14.sql');
    expect(probeFileFor('locks', 180001, files)).toBe('locks.pg16.sql');
    expect(probeFileFor('missing', 170000, files)).toBeUndefined();
    expect(probeFileFor('only', 130000, ['only.pg14.sql'])).toBeUndefined();
  });

  it('ships every probe as a .sql file', () => {
    const files = listSqlFiles();
    for (const probe of ['activity', 'locks', 'index_progress', 'replication', 'sizes']) {
      expect(probeFileFor(probe, 140000, files), probe).toBeDefined();
      expect(probeSql(probe, 180000).length).toBeGreaterThan(50);
    }
    expect(probeFileFor('locks', 170000, files)).toBe('locks.pg14.sql');
  });
});
