// With no user in the URL and neither PGUSER nor USER set (cron, containers, sudo), pgrunbook sends the
// OS account's name as libpq does, and says so when the server refuses it.
import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';

describe('the default user', () => {
  const db = useTestDatabase();
  const osUser = userInfo().username;
  const noUserEnv = { USER: undefined, PGUSER: undefined, LOGNAME: undefined, DATABASE_URL: undefined };

  it('is the OS user name when the URL, PGUSER and USER name none; a refusal names that default', async () => {
    const u = new URL(db.url);
    u.username = '';
    u.password = '';
    const url = u.toString();
    const [{ exists }] = await db.query<{ exists: boolean }>('select exists (select 1 from pg_roles where rolname = $1) as exists', [
      osUser,
    ]);
    if (!exists) {
      const refused = await runCli(['status', '--db', url], { env: noUserEnv });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`the OS user "${osUser}" was used, as libpq does`);
      expect(refused.stderr).not.toMatch(/no PostgreSQL user name specified/);
      await db.query(`create role "${osUser.replace(/"/g, '""')}" login`);
    }
    try {
      const ok = await runCli(['status', '--db', url], { env: noUserEnv });
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
    } finally {
      if (!exists) await db.query(`drop role "${osUser.replace(/"/g, '""')}"`);
    }
  });
});
