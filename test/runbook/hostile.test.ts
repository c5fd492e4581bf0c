// Hostile variable values must not change what the SQL (or a shell command) does: they either
// end up as exactly the identifier / text they are, or validation refuses them. Real PostgreSQL.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem } from '../../src/runbook/model.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { makeTestStepContext } from '../support/step-context.js';
import { useTestDatabase } from '../support/pg.js';

const db = useTestDatabase();

const RUNBOOK = `
version: 1
name: Hostile values
vars:
  table: notes
  body: hello
  name: plain
phases:
  deploy:
    - id: insert
      sql: INSERT INTO {{ table }} (body) VALUES ({{ body | literal }})
    - id: create
      sql: |
        CREATE TABLE {{ name }} (id int);
        COMMENT ON TABLE {{ name }} IS {{ body | literal }};
        CREATE INDEX ix_{{ name }} ON {{ name }} (id);
    - id: found
      check:
        query: SELECT count(*) FROM {{ table }} WHERE body = {{ body | literal }}
        expect: "= 1"
    - id: echo
      shell: printf '%s\\n' {{ body }}
`;

const HOSTILE = [
  "'",
  '"',
  ';',
  '"; DROP TABLE x; --',
  "'; DROP TABLE x; --",
  "\\'; DROP TABLE x; --",
  '$$; DROP TABLE x; --',
  '*/ DROP TABLE x; /*',
  "Robert'); DROP TABLE x;--",
  '$(touch /tmp/pgrunbook-pwned) `id` ; rm -rf /nonexistent',
];

describe('hostile variable values', () => {
  it('cannot change what the SQL or the shell command does', async () => {
    await db.query('CREATE TABLE x (canary int); INSERT INTO x VALUES (1)');
    let ran = 0;
    let refused = 0;
    for (const [i, v] of HOSTILE.entries()) {
      await db.query('DROP TABLE IF EXISTS notes; CREATE TABLE notes (id serial, body text)');
      const name = `${v}_${i}`;
      const { runbook, problems } = await loadRunbookText(RUNBOOK, 'hostile.yaml', { kinds: STEP_KINDS, vars: { body: v, name } });
      const errors = problems.filter((p) => p.severity === 'error');
      if (errors.length) {
        // Refused: only because the value is not a name where a name goes.
        expect(errors.map(formatProblem).join('\n'), JSON.stringify(v)).toMatch(/is not a name/);
        expect(errors.every((e) => /is not a name/.test(e.message))).toBe(true);
        refused++;
        continue;
      }
      for (const step of runbook!.phases.deploy) {
        const ctx = await makeTestStepContext({ url: db.url, step, runbook });
        try {
          await STEP_KINDS.get(step.kind)!.apply(step, ctx);
          if (step.kind === 'shell') {
            const out = ctx.events.filter((e) => e.type === 'step.log' && (e as any).stream === 'stdout').map((e) => (e as any).message);
            expect(out, JSON.stringify(v)).toEqual([v]);
          }
        } finally {
          await ctx.close();
        }
      }
      expect(await db.query('SELECT body FROM notes'), JSON.stringify(v)).toEqual([{ body: v }]);
      const created = await db.query(
        `SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment,
                (SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid) AS index
           FROM pg_class c WHERE c.relname = $1`,
        [name],
      );
      expect(created, JSON.stringify(v)).toEqual([{ relname: name, comment: v, index: `ix_${name}`.slice(0, 63) }]);
      ran++;
    }
    expect(await db.query('SELECT canary FROM x')).toEqual([{ canary: 1 }]);
    expect(existsSync('/tmp/pgrunbook-pwned')).toBe(false);
    expect(ran).toBeGreaterThanOrEqual(7);
    expect(refused).toBeGreaterThanOrEqual(2);
  });
});
