#!/usr/bin/env node
// No function in src/ runs past 80 lines (docs/architecture.md). Counts the lines a body spans, its
// braces included (JSX, comments and blank lines too), for every function, method, arrow, accessor
// and constructor, found by the TypeScript compiler's own parser. Run from the repository's root.
// Usage: node scripts/check-function-length.mjs [--max N] [dir...]   (default: 80, src)
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
const maxAt = args.indexOf('--max');
const max = maxAt >= 0 ? Number(args.splice(maxAt, 2)[1]) : 80;
const roots = args.length > 0 ? args : ['src'];
if (!Number.isInteger(max) || max < 1) {
  console.error('check-function-length: --max takes a whole number of lines, e.g. --max 80');
  process.exit(2);
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

function nameOf(node, source) {
  if (node.name) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) {
    return parent.name.getText(source);
  }
  if (parent && ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(source).slice(0, 40)})`;
  return '(anonymous)';
}

/** Lines a body spans, from its opening brace (or an arrow's expression) to its end. */
function bodyLines(body, source) {
  const first = source.getLineAndCharacterOfPosition(body.getStart(source)).line;
  const last = source.getLineAndCharacterOfPosition(body.getEnd()).line;
  return last - first + 1;
}

const over = [];
for (const root of roots) {
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    const kind = file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
    const visit = (node) => {
      if (ts.isFunctionLike(node) && node.body) {
        const lines = bodyLines(node.body, source);
        if (lines > max) {
          const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
          over.push({ lines, at: `${relative('.', file)}:${line + 1}:${character + 1}`, name: nameOf(node, source) });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
}

if (over.length > 0) {
  over.sort((a, b) => b.lines - a.lines);
  for (const f of over) console.error(`${f.at}: ${f.name} runs ${f.lines} lines (limit ${max}); split it into named parts`);
  console.error(`${over.length} function(s) over ${max} lines`);
  process.exit(1);
}
console.log(`no function over ${max} lines in ${roots.join(', ')}`);
