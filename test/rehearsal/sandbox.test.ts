// Sandboxes: a URL that is the source (under any spelling) is refused; a separate database is
// accepted; docker fails clearly where no container runtime runs; bad specs are input errors.
import { describe, expect, it } from 'vitest';
import { createDatabase, serverUrl, useTestDatabase } from '../support/pg.js';
import { openSandbox } from '../../src/rehearsal/sandbox/index.js';
import {
  endpointOf,
  sameEndpoint,
  sameServer,
  sameServerAndDatabase,
  serverIdentity,
} from '../../src/rehearsal/sandbox/sandbox-identity.js';
import { InputError, RunbookError } from '../../src/util/runbook-error.js';

describe('URL sandbox', () => {
  const db = useTestDatabase();

  it('refuses the source itself', async () => {
    await expect(openSandbox({ spec: db.url, sourceMajor: db.major, database: db.name, sourceUrl: db.url })).rejects.toThrow(
      /is the source database/,
    );
  });

  it('refuses the source under an alias (localhost vs 127.0.0.1, extra parameters)', async () => {
    const alias = db.url.replace('127.0.0.1', 'localhost') + '?application_name=x';
    expect(alias).not.toBe(db.url);
    const err = await openSandbox({ spec: alias, sourceMajor: db.major, database: db.name, sourceUrl: db.url }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/same host, port and database/);
  });

  it('refuses the source spelled differently (postgresql://, upper-case host name)', async () => {
    const u = new URL(db.url);
    const spelled = `postgresql://${u.username}@LOCALHOST:${u.port}/${db.name}`;
    await expect(openSandbox({ spec: spelled, sourceMajor: db.major, database: db.name, sourceUrl: db.url })).rejects.toThrow(
      /is the source database/,
    );
  });

  it('tells the same server and database apart by system identifier and start time', async () => {
    const pg = (await import('pg')).default;
    const a = new pg.Client(db.url);
    const b = new pg.Client(db.url.replace('127.0.0.1', 'localhost'));
    const other = await createDatabase(db.major, 'ident');
    const c = new pg.Client(other.url);
    await Promise.all([a.connect(), b.connect(), c.connect()]);
    try {
      const [ia, ib, ic] = await Promise.all([serverIdentity(a), serverIdentity(b), serverIdentity(c)]);
      expect(ia.systemIdentifier).toMatch(/^\d+$/);
      expect(sameServerAndDatabase(ia, ib)).toBe(true);
      expect(sameServerAndDatabase(ia, ic)).toBe(false);
      expect(sameServer(ia, ic)).toBe(true);
      // A physical copy keeps the system identifier but has its own start time.
      expect(sameServerAndDatabase(ia, { ...ib, postmasterStart: '2020-01-01 00:00:00+00' })).toBe(false);
    } finally {
      await Promise.all([a.end(), b.end(), c.end()]);
      await other.drop();
    }
  });

  it('accepts another database on the same server, with a warning', async () => {
    const other = await createDatabase(db.major, 'stage');
    try {
      const sb = await openSandbox({ spec: other.url, sourceMajor: db.major, database: db.name, sourceUrl: db.url });
      expect(sb.kind).toBe('url');
      expect(sb.existing).toBe(true);
      expect(sb.warnings.join(' ')).toMatch(/lives on the source's server/);
      await sb.close();
    } finally {
      await other.drop();
    }
  });

  it('compares endpoints after DNS', async () => {
    expect(await sameEndpoint('postgres://a@localhost:5432/x', 'postgres://b@127.0.0.1:5432/x')).toBe(true);
    expect(await sameEndpoint('postgres://a@localhost:5432/x', 'postgres://a@localhost:5433/x')).toBe(false);
    expect(await sameEndpoint('postgres://a@localhost:5432/x', 'postgres://a@localhost:5432/y')).toBe(false);
    expect(endpointOf('postgres://u@h/db')).toEqual({ host: 'h', port: 5432, database: 'db' });
  });
});

describe('other sandboxes', () => {
  it('docker: a clear error where no container runtime runs', async () => {
    const err = await openSandbox({ spec: 'docker', sourceMajor: 17, database: 'app', sourceUrl: serverUrl() }).catch((e) => e);
    expect(err).toBeInstanceOf(RunbookError);
    expect(err.message).toMatch(/--sandbox docker: no working Docker/);
    expect(err.hint).toMatch(/--sandbox embedded/);
  }, 60_000);

  it('an unknown --sandbox value is bad input', () => {
    expect(() => openSandbox({ spec: 'kubernetes', sourceMajor: 17, database: 'app' })).toThrow(InputError);
  });

  it('embedded: the nearest installed major, with a warning when it differs', async () => {
    const sb = await openSandbox({ spec: 'embedded', sourceMajor: 13, database: 'app' });
    try {
      expect(sb.major).toBe(14);
      expect(sb.warnings.join(' ')).toMatch(/source runs PostgreSQL 13/);
      // Local and plain: the operator's PGSSLMODE must not reach it.
      expect(sb.url).toMatch(/\/app\?sslmode=disable$/);
    } finally {
      await sb.close();
    }
  });
});
