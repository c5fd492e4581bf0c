// ALTER COLUMN ... TYPE: does PostgreSQL rewrite the table? It does not when the conversion is a
// binary-coercible relabel with no length check (varchar widening or to text, numeric precision
// up with the same scale, timestamp precision up), or timestamp <-> timestamptz when the session
// TimeZone has a fixed zero offset (ATColumnChangeRequiresRewrite in tablecmds.c).
import type { Catalog, ColumnInfo } from './analysis-catalog.js';
import { columnRefName, type ParsedType } from './ast.js';

export interface TypeChangeVerdict {
  rewrite: boolean;
  /** Why, in operator words. */
  why: string;
  /** Set when the verdict rests on an assumption. */
  uncertain?: string;
  /** The verdict depends on the session TimeZone. */
  timezoneDependent?: boolean;
}

/** Binary-coercible casts (pg_cast.castmethod = 'b') among common types, PostgreSQL 14-18. */
const BINARY_CASTS = new Set([
  'varchar>text',
  'text>varchar',
  'varchar>bpchar',
  'text>bpchar',
  'cidr>inet',
  'bit>varbit',
  'varbit>bit',
  'int4>oid',
  'oid>int4',
  'xml>text',
  'xml>varchar',
]);

/** Types whose length coercion PostgreSQL skips when the new limit is not smaller (support functions). */
const WIDENABLE = new Set(['varchar', 'varbit', 'timestamp', 'timestamptz', 'time', 'timetz']);

/** Names the parser emits for built-in types, mapped to pg_type.typname. */
const TYPNAME_ALIASES: Record<string, string> = {
  int: 'int4',
  integer: 'int4',
  smallint: 'int2',
  bigint: 'int8',
  decimal: 'numeric',
  real: 'float4',
  float: 'float8',
  boolean: 'bool',
  'character varying': 'varchar',
  character: 'bpchar',
  char: 'bpchar',
};

export function pgTypname(t: ParsedType): string {
  const base = TYPNAME_ALIASES[t.name] ?? t.name;
  return t.array ? `_${base}` : base;
}

/** Zones with a fixed zero UTC offset: timestamp <-> timestamptz is then a relabel. */
export function isZeroOffsetZone(tz: string | undefined): boolean | undefined {
  if (tz === undefined) return undefined;
  const z = tz.trim().replace(/^'|'$/g, '');
  if (/^(etc\/)?(utc|uct|gmt|gmt0|gmt[+-]0|greenwich|universal|zulu)$/i.test(z)) return true;
  if (/^(utc|gmt)?[+-]?0+(:00)?(:00)?$/i.test(z)) return true;
  if (/^utc0$/i.test(z)) return true;
  return false;
}

function sameMods(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** New limit is unlimited or not smaller than the old one. */
function widens(oldMods: number[], newMods: number[]): boolean {
  if (newMods.length === 0) return true;
  if (oldMods.length === 0) return false;
  return newMods[0]! >= oldMods[0]!;
}

export async function decideTypeChange(
  col: ColumnInfo,
  target: ParsedType,
  opts: { using?: any; catalog?: Catalog; timeZone?: string },
): Promise<TypeChangeVerdict> {
  const from = col.typname;
  const to = pgTypname(target);
  const toMods = target.modsUnknown ? undefined : target.mods;
  if (opts.using !== undefined && !usingIsPlainColumn(opts.using, col.name)) {
    return { rewrite: true, why: 'the USING expression is evaluated for every row' };
  }
  if (target.modsUnknown || toMods === undefined) {
    return { rewrite: true, why: 'the new type modifier is not a literal', uncertain: 'type modifiers that are not literals' };
  }
  const domain = opts.catalog ? await opts.catalog.typeIsConstrainedDomain(target.schema, target.name) : undefined;
  if (domain) return { rewrite: true, why: `${target.name} is a domain with constraints: every value is checked` };
  const domainUnknown = !opts.catalog && !isBuiltinName(to);

  if (from === to) {
    if (sameMods(col.mods, toMods)) return { rewrite: false, why: 'the type does not change' };
    if (to === 'numeric') {
      if (toMods.length === 0) return { rewrite: false, why: 'numeric with its precision limit removed is binary coercible' };
      if (col.mods.length === 0) return { rewrite: true, why: 'every value must be checked against the new numeric precision' };
      const [p, s = 0] = col.mods;
      const [p2, s2 = 0] = toMods;
      if (s2 === s && p2! >= p!) return { rewrite: false, why: 'numeric precision goes up with the same scale: no rewrite' };
      return { rewrite: true, why: 'numeric scale changes or precision goes down: every value is converted' };
    }
    if (WIDENABLE.has(to)) {
      if (widens(col.mods, toMods))
        return { rewrite: false, why: `${col.type} -> ${to}${modsText(toMods)} does not shorten the limit: no rewrite` };
      return { rewrite: true, why: `${col.type} -> ${to}${modsText(toMods)} shortens the limit: every value is checked and converted` };
    }
    return { rewrite: true, why: `changing the modifier of ${from} converts every value` };
  }

  if ((from === 'timestamp' && to === 'timestamptz') || (from === 'timestamptz' && to === 'timestamp')) {
    const zero = isZeroOffsetZone(opts.timeZone);
    const precisionOk = widens(col.mods, toMods);
    if (!precisionOk) return { rewrite: true, why: 'the timestamp precision goes down: every value is rounded' };
    if (zero === undefined) {
      return {
        rewrite: true,
        why: `${from} -> ${to} rewrites unless the session TimeZone is UTC`,
        uncertain: 'the session TimeZone (no rewrite only when it is UTC)',
        timezoneDependent: true,
      };
    }
    return zero
      ? {
          rewrite: false,
          why: `${from} -> ${to} with TimeZone ${opts.timeZone}: the values are already UTC, no rewrite`,
          timezoneDependent: true,
        }
      : {
          rewrite: true,
          why: `${from} -> ${to} with TimeZone ${opts.timeZone} (not UTC): every value is converted`,
          timezoneDependent: true,
        };
  }

  let method: 'b' | 'f' | 'i' | undefined;
  if (opts.catalog) method = await opts.catalog.castMethod(`${col.typschema}.${from}`, target.sqlName);
  else method = BINARY_CASTS.has(`${from}>${to}`) ? 'b' : undefined;
  if (method === 'b') {
    // A relabel; a length limit on the target adds a check unless it cannot shorten anything.
    if (toMods.length === 0) return { rewrite: false, why: `${from} -> ${to} is binary coercible: no rewrite` };
    if (WIDENABLE.has(to) && from !== to && col.mods.length > 0 && widens(col.mods, toMods) && sameFamily(from, to)) {
      return { rewrite: false, why: `${from} -> ${to}${modsText(toMods)} is binary coercible and does not shorten: no rewrite` };
    }
    return { rewrite: true, why: `${to}${modsText(toMods)} adds a length check on every value` };
  }
  return {
    rewrite: true,
    why: `${col.type} -> ${to}${modsText(toMods)} converts every value`,
    ...(domainUnknown ? { uncertain: `whether ${target.name} is a domain or a binary-coercible type` } : {}),
  };
}

function sameFamily(a: string, b: string): boolean {
  return (a === 'bit' && b === 'varbit') || a === b;
}

function modsText(m: number[]): string {
  return m.length ? `(${m.join(',')})` : '';
}

const BUILTIN = new Set([
  'int2',
  'int4',
  'int8',
  'numeric',
  'float4',
  'float8',
  'text',
  'varchar',
  'bpchar',
  'bool',
  'date',
  'timestamp',
  'timestamptz',
  'time',
  'timetz',
  'interval',
  'uuid',
  'json',
  'jsonb',
  'bytea',
  'inet',
  'cidr',
  'macaddr',
  'bit',
  'varbit',
  'oid',
  'xml',
  'money',
  'tsvector',
]);

function isBuiltinName(t: string): boolean {
  return BUILTIN.has(t.replace(/^_/, ''));
}

/** USING col or USING col::newtype: no per-row expression beyond the implicit conversion. */
function usingIsPlainColumn(expr: any, column: string): boolean {
  if (columnRefName(expr) === column && expr.ColumnRef.fields.length === 1) return true;
  const cast = expr?.TypeCast;
  if (cast && columnRefName(cast.arg) === column) return true;
  return false;
}
