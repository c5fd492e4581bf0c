import { describe, expect, it } from 'vitest';
import { loadParser, parseStatements } from '../../src/pg/sqlparse.js';
import { renderTemplate } from '../../src/runbook/template.js';
import { findReferences } from '../../src/runbook/template-references.js';

const vars = { table: 'orders', qualified: 'app.orders', column: 'amount_cents', note: "it's", n: '42', neg: '-3', empty: '' };
const sql = (t: string, v: Record<string, string> = vars) => renderTemplate(t, 'sql', v);
const errors = (r: ReturnType<typeof renderTemplate>) => r.problems.filter((p) => p.severity === 'error').map((p) => p.message);

describe('references', () => {
  it('finds names and filters, and leaves array literals alone', () => {
    expect(findReferences('a {{ x }} b {{y|literal}} {{1,2}} {{ }}').map((r) => [r.name, r.filter])).toEqual([
      ['x', undefined],
      ['y', 'literal'],
    ]);
  });

  it('reports a malformed reference', () => {
    const r = sql('SELECT {{ table | }}');
    expect(errors(r)[0]).toMatch(/malformed reference/);
  });

  it('reports an undefined variable with a suggestion', () => {
    const r = sql('SELECT * FROM {{ tabel }}');
    expect(errors(r)).toEqual([expect.stringMatching(/undefined variable "tabel" \(did you mean "table"\?\)/)]);
    expect(r.problems[0]!.offset).toBe(14);
  });
});

describe('SQL fields', () => {
  it('quotes identifiers, part by part when qualified', () => {
    expect(sql('ALTER TABLE {{ qualified }} ADD COLUMN {{ column }} bigint').text).toBe(
      'ALTER TABLE "app"."orders" ADD COLUMN "amount_cents" bigint',
    );
    expect(sql('SELECT {{ table | ident }}.id').text).toBe('SELECT "orders".id');
  });

  it('quotes a word with a reference in it as one identifier', () => {
    expect(sql('CREATE INDEX idx_{{ table }}_{{ column }} ON {{ table }} (x)').text).toBe(
      'CREATE INDEX "idx_orders_amount_cents" ON "orders" (x)',
    );
  });

  it('quotes literals and checks numbers', () => {
    expect(sql('SELECT {{ note | literal }}').text).toBe("SELECT 'it''s'");
    expect(sql('SELECT {{ x | literal }}', { x: 'a\\b' }).text).toBe("SELECT E'a\\\\b'");
    expect(sql('LIMIT {{ n | number }}').text).toBe('LIMIT 42');
    expect(sql('SELECT 5-{{ neg | number }}').text).toBe('SELECT 5-(-3)');
    expect(errors(sql('LIMIT {{ table | number }}'))[0]).toMatch(/not a number/);
  });

  it('splices raw values with a warning', () => {
    const r = sql('SELECT {{ x | raw }}', { x: 'now()' });
    expect(r.text).toBe('SELECT now()');
    expect(r.problems).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/raw/) })]);
  });

  it('refuses references inside strings, quoted identifiers and comments', () => {
    expect(errors(sql("SELECT '{{ table }}'"))[0]).toMatch(/inside a string literal/);
    expect(errors(sql("SELECT E'x{{ table | literal }}'"))[0]).toMatch(/inside an escape string: remove the quotes/);
    expect(errors(sql('SELECT "{{ table }}"'))[0]).toMatch(/inside a quoted identifier/);
    expect(errors(sql('SELECT 1 -- {{ table }}'))[0]).toMatch(/inside a comment/);
    expect(errors(sql('SELECT 1 /* {{ table }} */'))[0]).toMatch(/inside a block comment/);
    expect(errors(sql("DO $$ BEGIN EXECUTE 'DROP TABLE {{ table }}'; END $$"))[0]).toMatch(/inside a string literal/);
  });

  it('allows references in the code of a dollar-quoted body, unless the value ends the body', () => {
    expect(errors(sql('DO $$ BEGIN PERFORM 1 FROM {{ table }}; END $$'))).toEqual([]);
    expect(errors(sql('DO $$ BEGIN PERFORM 1 FROM {{ table }}; END $$', { table: 'a$$b' }))[0]).toMatch(/contains "\$\$"/);
    expect(errors(sql('DO $f$ BEGIN PERFORM {{ v | literal }}; END $f$', { v: 'x$f$; DROP TABLE t; --' }))[0]).toMatch(/\$f\$/);
  });

  it('refuses references that touch quotes, $ or another reference', () => {
    expect(errors(sql("SELECT 'a'{{ note | literal }}"))[0]).toMatch(/touches "'"/);
    expect(errors(sql('SELECT {{ note | literal }}{{ note | literal }}'))[0]).toMatch(/touches another reference/);
    expect(errors(sql('SELECT x{{ note | literal }}'))[0]).toMatch(/glued to a word/);
    expect(errors(sql('SELECT ${{ table }}'))[0]).toMatch(/touches "\$"/);
  });

  it('refuses empty identifiers and unknown filters', () => {
    expect(errors(sql('SELECT * FROM {{ empty }}'))[0]).toMatch(/is not a name/);
    expect(errors(sql('SELECT * FROM {{ x }}', { x: 'a.' }))[0]).toMatch(/is not a name/);
    expect(errors(sql('SELECT * FROM {{ x }}', { x: '"; DROP TABLE x; --' }))[0]).toMatch(/is not a name/);
    expect(sql('SELECT * FROM {{ x }}', { x: '"My Schema"."a.b"' }).text).toBe('SELECT * FROM "My Schema"."a.b"');
    expect(errors(sql('SELECT {{ table | upper }}'))[0]).toMatch(/unknown filter/);
  });

  it('maps rendered offsets back to the template', () => {
    const r = sql('SELECT {{ qualified }} FRM x');
    const at = r.text.indexOf('FRM');
    expect(r.toTemplate(at)).toBe('SELECT {{ qualified }} '.length);
    expect(r.toTemplate(r.text.indexOf('"orders"'))).toBe(7);
  });
});

describe('hostile values keep the statement shape', () => {
  const hostile = [
    "'",
    '"',
    ';',
    '"; DROP TABLE x; --',
    "'; DROP TABLE x; --",
    '\\',
    "\\'; DROP TABLE x; --",
    '$$',
    '*/ DROP TABLE x; /*',
    'a\nb',
  ];
  const templates = [
    'SELECT {{ v }} FROM t',
    'SELECT * FROM t WHERE note = {{ v | literal }}',
    'CREATE INDEX idx_{{ v }} ON t (a)',
    'COMMENT ON TABLE t IS {{ v | literal }}',
  ];
  it.each(templates)('%s', async (template) => {
    await loadParser();
    const shape = (s: string) => parseStatements(s).map((st) => st.node);
    const base = shape(renderTemplate(template, 'sql', { v: 'plain' }).text);
    for (const v of hostile) {
      const r = renderTemplate(template, 'sql', { v });
      const why = `${template} with ${JSON.stringify(v)}`;
      // Either refused at validation (a value that is not a name where a name goes) ...
      if (errors(r).length) {
        expect(errors(r), why).toEqual([expect.stringMatching(/is not a name/)]);
        continue;
      }
      // ... or rendered so that the statement keeps its shape.
      expect(shape(r.text), why).toEqual(base);
    }
  });
});

describe('shell fields', () => {
  const sh = (t: string, v: Record<string, string> = vars) => renderTemplate(t, 'shell', v);
  it('single-quotes values as one word', () => {
    expect(sh('pg_repack --table={{ qualified }}').text).toBe("pg_repack --table='app.orders'");
    expect(sh('echo {{ note }}').text).toBe("echo 'it'\\''s'");
  });
  it('refuses references inside quotes or after a backslash', () => {
    expect(errors(sh('echo "{{ table }}"'))[0]).toMatch(/inside double quotes/);
    expect(errors(sh("echo '{{ table }}'"))[0]).toMatch(/inside single quotes/);
    expect(errors(sh('echo \\{{ table }}'))[0]).toMatch(/directly follows/);
    expect(errors(sh('echo {{ table | literal }}'))[0]).toMatch(/unknown filter/);
  });
  it('refuses references in a here-document body, where quotes do not hold', () => {
    expect(errors(sh('psql <<EOF\nSELECT {{ table }};\nEOF'))[0]).toMatch(/inside a here-document/);
    expect(errors(sh("cat <<-'END' > f\n\tx {{ table }}\n\tEND\necho {{ table }}"))).toHaveLength(1);
    expect(errors(sh('cat <<< {{ table }}'))).toEqual([]);
  });

  it('warns about raw', () => {
    const r = sh('{{ cmd | raw }} --help', { cmd: 'flyway' });
    expect(r.text).toBe('flyway --help');
    expect(r.problems[0]!.severity).toBe('warning');
  });
});

describe('plain fields', () => {
  it('substitutes text and refuses filters', () => {
    expect(renderTemplate('Add {{ qualified }}.{{ column }}', 'plain', vars).text).toBe('Add app.orders.amount_cents');
    expect(errors(renderTemplate('{{ table | literal }}', 'plain', vars))[0]).toMatch(/only in SQL and shell fields/);
  });
});
