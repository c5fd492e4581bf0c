// Each source layout read from a folder fixture, offline: detection, order, down scripts, the
// record-keeping step, and the bad inputs that must stop init with a position and exit 2.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { loadParser } from '../../src/pg/sqlparse.js';
import { buildRunbook } from '../../src/init/build-runbook.js';
import { detectFormat } from '../../src/init/detect.js';
import { flywayChecksum } from '../../src/init/flyway-checksum.js';
import { InputError } from '../../src/util/runbook-error.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const fx = (p: string) => fileURLToPath(new URL(`../fixtures/init/${p}`, import.meta.url));

async function build(from: string, more: Record<string, unknown> = {}) {
  await loadParser();
  return buildRunbook({ from: fx(from), versionNum: 170000, kinds: STEP_KINDS, ...more });
}

describe('init sources', () => {
  it('detects every layout', async () => {
    const want: Record<string, string> = {
      sqitch: 'sqitch',
      dbmate: 'dbmate',
      flyway: 'flyway',
      'golang-migrate': 'golang-migrate',
      prisma: 'prisma',
      'node-pg-migrate': 'node-pg-migrate',
      numbered: 'numbered-sql',
      'bad/syntax.sql': 'sql',
    };
    for (const [dir, format] of Object.entries(want)) expect(await detectFormat(fx(dir)), dir).toBe(format);
    await expect(detectFormat(fx('.'))).rejects.toThrow(/no known migration layout/);
  });

  it('sqitch: plan order, BEGIN/COMMIT left out, revert scripts the kinds do not cover become rollback SQL, sqitch deploy --log-only last', async () => {
    const r = await build('sqitch');
    expect(r.chosen.map((m) => m.id)).toEqual(['customers', 'orders', 'orders_index', 'orders_status']);
    expect(r.yaml).toMatch(/sqitch deploy --log-only --to orders_status/);
    expect(r.notes.some((n) => /BEGIN left out/.test(n))).toBe(true);
    // Tables created by the same script are empty: nothing to rewrite, every statement is kept.
    expect(r.rows.every((x) => x.verdict === 'kept')).toBe(true);
    expect(r.yaml).toContain('rollback: DROP TABLE customers');
    const later = await build('sqitch', { only: ['orders_index', 'orders_status'] });
    expect(later.rows.map((x) => x.kinds.join('+'))).toEqual(['create_index', 'sql', 'add_foreign_key']);
    // create_index and add_foreign_key undo themselves: their revert statements are not repeated.
    expect(later.yaml).not.toContain('DROP INDEX orders_customer_idx');
    expect(later.yaml).not.toContain('DROP CONSTRAINT orders_customer_fk');
    expect(later.yaml).toContain('rollback: ALTER TABLE orders DROP COLUMN status');
  });

  it('flyway: versions in numeric order, undo scripts, history rows with Flyway checksums', async () => {
    const r = await build('flyway');
    expect(r.chosen.map((m) => m.id)).toEqual(['1', '1.1', '2']);
    const sum = flywayChecksum(await import('node:fs').then((f) => f.readFileSync(fx('flyway/V1_1__index_and_check.sql'))));
    expect(r.yaml).toContain(`'1.1', 'index and check', 'SQL', 'V1_1__index_and_check.sql', ${sum}`);
  });

  it('flyway checksum: CRC32 of the lines without their endings, signed', () => {
    expect(flywayChecksum('SELECT 1;\r\nSELECT 2;\n')).toBe(crc32('SELECT 1;SELECT 2;') | 0);
    expect(flywayChecksum('\uFEFFa\nb')).toBe(crc32('ab') | 0);
    expect(flywayChecksum('')).toBe(0);
  });

  it('golang-migrate: up/down pairs; force is written as the one-row schema_migrations update', async () => {
    const r = await build('golang-migrate', { only: ['2'] });
    expect(r.chosen.map((m) => m.id)).toEqual(['2']);
    expect(r.before.map((m) => m.id)).toEqual(['1']);
    expect(r.yaml).toMatch(/INSERT INTO schema_migrations \(version, dirty\) VALUES \(2, false\)/);
    expect(r.yaml).toMatch(/add_foreign_key/);
  });

  it('dbmate, prisma, node-pg-migrate and numbered files', async () => {
    expect((await build('dbmate')).yaml).toMatch(
      /INSERT INTO schema_migrations \(version\) VALUES \('20260101000000'\), \('20260102000000'\), \('20260103000000'\)/,
    );
    expect((await build('prisma')).yaml).toMatch(/INSERT INTO _prisma_migrations/);
    const npm = await build('node-pg-migrate');
    expect(npm.chosen.map((m) => m.id)).toEqual(['1767225600000_accounts', '1767312000000_email-not-null']);
    expect(npm.yaml).toMatch(/INSERT INTO pgmigrations \(name, run_on\)/);
    const num = await build('numbered');
    expect(num.chosen.map((m) => m.id)).toEqual(['001_things', '002_things_index']);
  });

  it('bad input: a syntax error and CONCURRENTLY inside a transaction stop with FILE:LINE:COL, exit 2', async () => {
    const syntax = build('bad/syntax.sql');
    await expect(syntax).rejects.toBeInstanceOf(InputError);
    await expect(syntax).rejects.toThrow(/bad\/syntax\.sql:1:\d+: syntax error/);
    await expect(build('bad/concurrently-in-transaction.sql')).rejects.toThrow(
      /concurrently-in-transaction\.sql:2:1: CREATE INDEX CONCURRENTLY .* cannot run inside a transaction block/,
    );
    await expect(build('flyway', { only: ['9'] })).rejects.toThrow(/--only 9: no such migration/);
  });
});
