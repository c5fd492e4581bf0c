// The fleet's targets: a file (YAML or JSON, `targets: [{name, url, labels, vars}]`) or a
// `--targets-query` on the catalog database returning the same columns. Problems are input errors
// naming the file, line and column (or the query's row and column), before any target is touched.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';
import { InputError } from '../util/runbook-error.js';
import { redact, redactedMessage } from '../util/secrets.js';

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

const QUERY_HINT = 'the query returns one row per target: name text, url text, and optionally labels jsonb, vars jsonb';
const TEXT_TYPES = new Set([25, 1043, 1042, 19]); // text, varchar, bpchar, name
const JSON_TYPES = new Set([3802, 114]); // jsonb, json
const COLUMNS: Record<string, { types: Set<number>; want: string; required: boolean }> = {
  name: { types: TEXT_TYPES, want: 'text', required: true },
  url: { types: TEXT_TYPES, want: 'text', required: true },
  labels: { types: JSON_TYPES, want: "jsonb (e.g. jsonb_build_object('region', region))", required: false },
  vars: { types: JSON_TYPES, want: "jsonb (e.g. jsonb_build_object('tenant', tenant_id))", required: false },
};

/** Runs `--targets-query` on the catalog database and checks its columns, types and rows. */
export async function queryTargets(db: Queryable, sql: string): Promise<FleetTarget[]> {
  let res: { rows: Record<string, unknown>[]; fields: { name: string; dataTypeID: number }[] };
  try {
    res = await db.query(sql);
  } catch (err) {
    throw new InputError(`--targets-query failed on the catalog database: ${redactedMessage(err)}`, `fix the query; ${QUERY_HINT}`);
  }
  await checkColumns(db, res.fields);
  const targets: FleetTarget[] = [];
  const seen = new Set<string>();
  res.rows.forEach((row, i) => {
    const parsed = targetSchema.safeParse({ ...row, labels: row.labels ?? undefined, vars: row.vars ?? undefined });
    const label = typeof row.name === 'string' ? ` (${row.name})` : '';
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(`--targets-query row ${i + 1}${label}: ${issue.path.join('.') || 'row'}: ${redact(issue.message)}`, QUERY_HINT);
    }
    if (seen.has(parsed.data.name))
      throw new InputError(
        `--targets-query row ${i + 1}: target name "${parsed.data.name}" appears twice`,
        'give every target a unique name',
      );
    seen.add(parsed.data.name);
    targets.push(parsed.data);
  });
  if (targets.length === 0) throw new InputError('--targets-query returned no rows', `check its WHERE clause; ${QUERY_HINT}`);
  return targets;
}

async function checkColumns(db: Queryable, fields: { name: string; dataTypeID: number }[]): Promise<void> {
  const got = fields.map((f) => f.name);
  const extra = got.filter((n) => !(n in COLUMNS));
  if (extra.length)
    throw new InputError(`--targets-query returned unexpected column${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`, QUERY_HINT);
  const missing = Object.keys(COLUMNS).filter((n) => COLUMNS[n]!.required && !got.includes(n));
  if (missing.length)
    throw new InputError(
      `--targets-query returned no ${missing.join(' or ')} column (it returned: ${got.join(', ') || 'none'})`,
      QUERY_HINT,
    );
  const wrong = fields.filter((f) => !COLUMNS[f.name]!.types.has(f.dataTypeID));
  if (!wrong.length) return;
  const names = await db.query<{ oid: number; name: string }>(sqlText('fleet/sql', 'type-names'), [wrong.map((f) => f.dataTypeID)]);
  const typeName = (oid: number) => names.rows.find((r) => r.oid === oid)?.name ?? `type oid ${oid}`;
  const f = wrong[0]!;
  throw new InputError(`--targets-query column ${f.name} is ${typeName(f.dataTypeID)}; expected ${COLUMNS[f.name]!.want}`, QUERY_HINT);
}
