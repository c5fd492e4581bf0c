// The fleet's targets file (YAML or JSON): `targets: [{name, url, labels, vars}]`. Problems are
// input errors naming the file, line and column, before any target is touched.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { InputError } from '../util/runbook-error.js';
import { redact } from '../util/secrets.js';

export interface FleetTarget {
  name: string;
  /** postgres:// URL; a password in it is registered as a secret by the CLI and never printed. */
  url: string;
  labels: Record<string, string>;
  vars: Record<string, string>;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const targetSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (at most 63), starting with a letter or digit'),
  url: z.string().regex(/^postgres(ql)?:\/\//i, 'expected a URL like postgres://user@host:5432/dbname'),
  labels: z.record(z.string(), scalar).default({}),
  vars: z.record(z.string(), scalar).default({}),
});

const fileSchema = z.object({ targets: z.array(targetSchema).min(1, 'list at least one target') }).strict();

/** Reads and validates a targets file; throws InputError (exit 2) with FILE:LINE:COL. */
export async function loadTargetsFile(path: string): Promise<FleetTarget[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`--targets ${path}: ${(err as Error).message}`, 'pass a YAML or JSON file with `targets: [{name, url}]`');
  }
  return parseTargets(text, path);
}

export function parseTargets(text: string, file: string): FleetTarget[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const where = (offset: number | undefined) => {
    const p = lines.linePos(offset ?? 0);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new InputError(`${where(e.pos[0])}: ${e.message.split('\n')[0]}`, 'fix the YAML/JSON syntax of the targets file');
  }
  const parsed = fileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const node = doc.getIn(issue.path as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    const field = issue.path.length ? issue.path.join('.') : 'top level';
    throw new InputError(
      `${where(node?.range?.[0])}: ${field}: ${redact(issue.message)}`,
      'each target needs `name` and `url`; `labels` and `vars` are maps',
    );
  }
  const seen = new Set<string>();
  parsed.data.targets.forEach((t, i) => {
    if (seen.has(t.name)) {
      const node = doc.getIn(['targets', i, 'name'], true) as { range?: [number, number, number] } | undefined;
      throw new InputError(`${where(node?.range?.[0])}: target name "${t.name}" appears twice`, 'give every target a unique name');
    }
    seen.add(t.name);
  });
  return parsed.data.targets;
}
