// Property: validate on a mutated shipped runbook (truncated, types swapped, random keys, deep
// nesting, huge values) never prints a stack trace, answers within 2 s, and exits 0 or 2.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { validateCommand } from '../../src/cli/commands/validate-command.js';

const RUNBOOKS = fileURLToPath(new URL('../../runbooks/', import.meta.url));
const sources = readdirSync(RUNBOOKS)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(RUNBOOKS, f), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-prop-'));

type Json = unknown;
const scalar = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const anyValue: fc.Arbitrary<Json> = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 4 }),
  fc.integer({ min: 50, max: 400 }).map((d) => JSON.parse(`${'['.repeat(d)}1${']'.repeat(d)}`)),
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n)),
);

/** Every path in a JSON-like value. */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function setAt(root: Json, path: (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  copy[path[0]!] = setAt(copy[path[0]!], path.slice(1), value);
  return copy;
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: anyValue }),
  fc.record({ kind: fc.constant('add-key' as const), pick: fc.nat(), key: fc.string({ minLength: 1, maxLength: 12 }), value: anyValue }),
  fc.record({ kind: fc.constant('bytes' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), text: fc.string({ maxLength: 20 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(source: string, m: Mutation): string {
  if (m.kind === 'truncate') return source.slice(0, Math.floor(source.length * m.at));
  if (m.kind === 'bytes') {
    const i = Math.floor(source.length * m.at);
    return source.slice(0, i) + m.text + source.slice(i);
  }
  const doc = parseDocument(source).toJS();
  const all = paths(doc);
  const path = all[m.pick % all.length]!;
  const next = m.kind === 'replace' ? setAt(doc, path, m.value) : setAt(doc, [...path, m.key], m.value);
  return JSON.stringify(next); // JSON is YAML
}

describe('validate under mutation', () => {
  it('never a stack trace, under 2 s each, exit 0 or 2', async () => {
    let n = 0;
    const codes = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: sources.length - 1 }), mutation, async (which, m) => {
        const file = join(dir, `m${n++}.yaml`);
        writeFileSync(file, mutate(sources[which]!, m));
        let out = '';
        const t0 = performance.now();
        const code = await validateCommand(file, {}, { out: (s) => void (out += s) });
        const ms = performance.now() - t0;
        expect([0, 2]).toContain(code);
        codes.add(code);
        expect(out).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n|internal error/);
        expect(ms).toBeLessThan(2000);
      }),
      { numRuns: 150, seed: 1406 },
    );
    expect([...codes].sort()).toEqual([0, 2]); // the mutations reach both outcomes
  }, 300_000);
});
