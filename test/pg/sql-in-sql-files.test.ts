// Catalog queries belong in .sql files loaded through src/pg/sql-files.ts. This scans every string
// literal under src/ for SQL that reads the catalog and fails on any file not on the allow list below,
// or with more such literals than the list grants. The list only shrinks: a file that has moved its
// queries out must lower (or drop) its entry, so the count can never creep back.
import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { SRC_DIR } from '../../src/pg/sql-files.js';

// Files (relative to src/) that still hold inline catalog queries, and how many. Lower a number when
// you move a query into a .sql file; never raise one or add a file.
const ALLOWED: Record<string, number> = {
  // A setval() the catalog copy writes for the sandbox, not a query of the catalog.
  'rehearsal/catalog-dump-build.ts': 1,
};

const CATALOG =
  /\bpg_catalog\.|\b(from|join)\s+(pg_catalog\.)?pg_\w+|\bpg_(locks|stat_activity|attribute|attrdef|class|index|constraint|namespace|depend|trigger|sequence|inherits|type|proc|roles|database|settings|stat_\w+|statio_\w+)\b/i;
// A query, not prose that names a catalog view ("grant pg_monitor ... with pg_read_all_stats").
const SQL_VERB = /\bselect\b|\binsert\s+into\b|\bupdate\s+[\w."]+\s+set\b|\bdelete\s+from\b/i;

/** The 1-based lines of the string literals in `source` that hold a query reading the catalog. */
function inlineCatalogQueries(fileName: string, source: string): number[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const lines: number[] = [];
  const visit = (node: ts.Node): void => {
    let text: string | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) text = node.text;
    else if (ts.isTemplateExpression(node)) text = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(' ');
    if (text !== undefined && CATALOG.test(text) && SQL_VERB.test(text)) {
      lines.push(file.getLineAndCharacterOfPosition(node.getStart()).line + 1);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return lines;
}

function scanSrc(): Map<string, number[]> {
  const found = new Map<string, number[]>();
  const files = readdirSync(SRC_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f));
  for (const rel of files.sort()) {
    const path = rel.split('\\').join('/');
    const lines = inlineCatalogQueries(path, readFileSync(SRC_DIR + rel, 'utf8'));
    if (lines.length > 0) found.set(path, lines);
  }
  return found;
}

describe('catalog SQL lives in .sql files', () => {
  it('recognises an inline catalog query and leaves other strings alone', () => {
    const source = [
      "const a = 'select relname from pg_class where oid = $1';",
      'const b = `SELECT pid FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE ${x}`;',
      "const c = sqlText('pg/catalog/sql', 'table-facts');",
      "const d = 'look at pg_stat_activity for the blocker';",
      "const e = 'select 1';",
    ].join('\n');
    expect(inlineCatalogQueries('x.ts', source)).toEqual([1, 2]);
  });

  const found = scanSrc();

  it('no file outside the allow list has an inline catalog query, and none has more than it is allowed', () => {
    const over = [...found]
      .filter(([file, lines]) => lines.length > (ALLOWED[file] ?? 0))
      .map(
        ([file, lines]) =>
          `src/${file}: ${lines.length} inline catalog quer${lines.length === 1 ? 'y' : 'ies'} at line(s) ${lines.join(', ')} (allowed ${ALLOWED[file] ?? 0})`,
      );
    expect(over, 'move these queries into .sql files and load them with src/pg/sql-files.ts').toEqual([]);
  });

  it('the allow list only shrinks: entries match what is left', () => {
    const stale = Object.entries(ALLOWED)
      .filter(([file, allowed]) => (found.get(file)?.length ?? 0) < allowed)
      .map(([file, allowed]) => `src/${file}: allowed ${allowed}, has ${found.get(file)?.length ?? 0}`);
    expect(stale, 'lower these entries in ALLOWED (test/pg/sql-in-sql-files.test.ts), or drop them at 0').toEqual([]);
  });
});
