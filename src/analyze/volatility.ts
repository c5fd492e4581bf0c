// Volatility of a default expression: a volatile default makes ADD COLUMN rewrite the table.
// With a live catalog each function is looked up in pg_proc; without one, the volatile built-ins
// below are recognised (list taken from pg_proc.provolatile = 'v' of PostgreSQL 18, minus internal
// handlers; test/analyze/volatility.test.ts checks it against a real server) and anything else is
// reported as uncertain.
import { strings, walk } from './ast.js';
import type { Catalog, Volatility } from './analysis-catalog.js';

export const VOLATILE_BUILTINS = new Set([
  'array_sample',
  'array_shuffle',
  'clock_timestamp',
  'currval',
  'gen_random_uuid',
  'lastval',
  'nextval',
  'random',
  'random_normal',
  'set_config',
  'setseed',
  'setval',
  'timeofday',
  'txid_status',
  'uuidv4',
  'uuidv7',
  'lo_create',
  'lo_import',
  'query_to_xml',
  'cursor_to_xml',
  // uuid-ossp, the usual way to get UUID defaults before gen_random_uuid was built in.
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  // pgcrypto.
  'gen_random_bytes',
]);

/** Common built-ins that are not volatile, so offline analysis need not call them uncertain. */
export const NON_VOLATILE_BUILTINS: Record<string, Volatility> = Object.fromEntries([
  ...[
    'now',
    'statement_timestamp',
    'transaction_timestamp',
    'current_setting',
    'to_char',
    'to_timestamp',
    'to_date',
    'date_trunc',
    'age',
    'jsonb_build_object',
    'json_build_object',
    'jsonb_build_array',
    'json_build_array',
    'to_jsonb',
    'to_json',
    'row_to_json',
    'concat',
    'concat_ws',
    'format',
    'current_schema',
    'pg_backend_pid',
    'date_part',
    'extract',
    'make_timestamptz',
    'txid_current',
    'pg_current_xact_id',
    'inet_client_addr',
    'current_database',
    'session_user',
    'current_user',
    'length',
    'numeric',
  ].map((n) => [n, 'stable' as Volatility]),
  ...[
    'lower',
    'upper',
    'md5',
    'char_length',
    'abs',
    'round',
    'trunc',
    'floor',
    'ceil',
    'ceiling',
    'substr',
    'substring',
    'replace',
    'btrim',
    'ltrim',
    'rtrim',
    'encode',
    'decode',
    'sha256',
    'left',
    'right',
    'split_part',
    'regexp_replace',
    'coalesce',
    'nullif',
    'int4',
    'int8',
    'text',
    'make_date',
    'make_interval',
    'array_length',
    'cardinality',
    'jsonb_typeof',
    'sign',
    'mod',
    'power',
    'sqrt',
    'uuid_nil',
    'point',
    'box',
    'int4range',
    'int8range',
    'tstzrange',
    'daterange',
    'numrange',
    'tsrange',
  ].map((n) => [n, 'immutable' as Volatility]),
]);

export interface FunctionRef {
  schema?: string;
  name: string;
  nargs: number;
}

export function functionsIn(expr: any): FunctionRef[] {
  const out: FunctionRef[] = [];
  walk({ e: expr }, (k, v) => {
    if (k === 'FuncCall') {
      const parts = strings(v.funcname);
      if (parts.length === 0) return;
      out.push({
        name: parts[parts.length - 1]!,
        schema: parts.length > 1 ? parts[parts.length - 2] : undefined,
        nargs: (v.args ?? []).length,
      });
    }
  });
  return out;
}

export interface VolatilityVerdict {
  volatility: Volatility;
  /** Functions that decided it (the volatile ones, or the stable ones). */
  because: string[];
  /** Functions whose volatility could not be determined. */
  unknown: string[];
}

const RANK: Record<Volatility, number> = { immutable: 0, stable: 1, volatile: 2 };

export async function expressionVolatility(expr: any, catalog: Catalog | undefined): Promise<VolatilityVerdict> {
  let worst: Volatility = 'immutable';
  const because: string[] = [];
  const unknown: string[] = [];
  const bump = (v: Volatility, what: string) => {
    if (RANK[v] > RANK[worst]) {
      worst = v;
      because.length = 0;
    }
    if (v === worst && v !== 'immutable') because.push(what);
  };
  // CURRENT_TIMESTAMP, CURRENT_USER, LOCALTIME...: stable.
  walk({ e: expr }, (k) => {
    if (k === 'SQLValueFunction') bump('stable', 'CURRENT_TIMESTAMP-style value');
  });
  for (const f of functionsIn(expr)) {
    const label = `${f.schema ? `${f.schema}.` : ''}${f.name}()`;
    if (catalog) {
      const v = await catalog.functionVolatility(f.schema, f.name, f.nargs);
      if (v) bump(v, label);
      else unknown.push(label);
    } else if (VOLATILE_BUILTINS.has(f.name)) bump('volatile', label);
    else if (!f.schema || f.schema === 'pg_catalog') {
      const known = NON_VOLATILE_BUILTINS[f.name];
      if (known) bump(known, label);
      else unknown.push(label);
    } else unknown.push(label);
  }
  return { volatility: worst, because, unknown };
}
