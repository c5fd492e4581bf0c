// The password of a URL handed to a child process goes to a 0600 passfile, never its arguments.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childConnection, childEnv } from '../../src/util/child-credentials.js';
import { redact } from '../../src/util/secrets.js';

describe('childConnection', () => {
  it('moves the userinfo password to a 0600 passfile in a 0700 directory, removed on dispose', () => {
    const c = childConnection('postgres://app:p%3Aw%5Cd@db.example:5433/shop?sslmode=require');
    expect(c.url).toBe('postgres://app@db.example:5433/shop?sslmode=require');
    const file = c.env.PGPASSFILE!;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toBe('*:*:*:*:p\\:w\\\\d\n');
    expect(childEnv(c, { PGPASSWORD: 'stale', PATH: '/bin' })).toEqual({ PATH: '/bin', PGPASSFILE: file });
    expect(redact('token p:w\\d')).toBe('token ***');
    c.dispose();
    expect(existsSync(dirname(file))).toBe(false);
  });

  it('takes a ?password= parameter off the URL too', () => {
    const c = childConnection('postgresql://app@h/db?password=hunter2&application_name=x');
    expect(c.url).toBe('postgresql://app@h/db?application_name=x');
    expect(readFileSync(c.env.PGPASSFILE!, 'utf8')).toBe('*:*:*:*:hunter2\n');
    c.dispose();
  });

  it('leaves a URL without a password, and the libpq environment, alone', () => {
    expect(childConnection('postgres://app@h/db')).toMatchObject({ url: 'postgres://app@h/db', env: {}, unset: [] });
    expect(childConnection(undefined)).toMatchObject({ url: undefined, env: {} });
  });
});
