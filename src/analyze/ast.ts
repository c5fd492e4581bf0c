// Small helpers over libpg-query's JSON AST (PostgreSQL 18 grammar).

export interface RelName {
  schema?: string;
  name: string;
  /** Written with ONLY (no recursion to partitions / children). */
  only?: boolean;
}

/** `{String: {sval}}` lists -> string[]. */
export function strings(list: any[] | undefined): string[] {
  return (list ?? []).map((n) => n?.String?.sval ?? n?.sval ?? '').filter((s: string) => s !== '');
}

export function rangeVar(rv: any): RelName | undefined {
  if (!rv?.relname) return undefined;
  // libpg-query omits false booleans: `inh` is absent for ONLY.
  const only = rv.inh !== true ? { only: true } : {};
  return rv.schemaname ? { schema: rv.schemaname, name: rv.relname, ...only } : { name: rv.relname, ...only };
}

/** Display text for a relation name: schema.name when qualified as written. */
export function relText(r: RelName): string {
  const q = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
  return r.schema ? `${q(r.schema)}.${q(r.name)}` : q(r.name);
}

/** Inverse of relText: `a.b`, `"A".b` -> parts. */
export function splitName(text: string): RelName {
  const parts = text.match(/("([^"]|"")*"|[^.]+)/g) ?? [text];
  const unq = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s);
  return parts.length > 1 ? { schema: unq(parts[0]!), name: unq(parts[1]!) } : { name: unq(parts[0]!) };
}

/** A qualified name from a list of String nodes (DROP INDEX a.b, COMMENT ON TABLE x). */
export function nameFromList(list: any[] | undefined): RelName | undefined {
  const parts = strings(list);
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return { name: parts[0]! };
  return { schema: parts[parts.length - 2], name: parts[parts.length - 1]! };
}

export interface ParsedType {
  schema?: string;
  /** Last name part, e.g. int4, varchar, timestamptz, serial. */
  name: string;
  mods: number[];
  /** Some modifier was not an integer literal. */
  modsUnknown: boolean;
  array: boolean;
  /** SQL text for to_regtype() without modifiers. */
  sqlName: string;
}

export function typeName(tn: any): ParsedType | undefined {
  if (!tn) return undefined;
  const parts = strings(tn.names);
  if (parts.length === 0) return undefined;
  const name = parts[parts.length - 1]!;
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const mods: number[] = [];
  let modsUnknown = false;
  for (const m of tn.typmods ?? []) {
    const v = m?.A_Const?.ival?.ival ?? (m?.A_Const?.ival ? 0 : undefined);
    if (typeof v === 'number') mods.push(v);
    else modsUnknown = true;
  }
  const quote = (s: string) => (/^[a-z_][a-z0-9_]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
  const sqlName = (schema ? `${quote(schema)}.` : '') + quote(name) + (tn.arrayBounds?.length ? '[]' : '');
  return { schema, name, mods, modsUnknown, array: !!tn.arrayBounds?.length, sqlName };
}

/** Depth-first visit of every object node in an AST fragment. */
export function walk(node: any, visit: (key: string, value: any) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (v && typeof v === 'object') {
      if (!Array.isArray(v)) visit(k, v);
      walk(v, visit);
    }
  }
}

/** Every RangeVar inside a fragment (tables read by a query, view body...). */
export function rangeVarsIn(node: any): RelName[] {
  const out: RelName[] = [];
  const ctes = new Set<string>();
  walk(node, (k, v) => {
    if (k === 'CommonTableExpr' && v.ctename) ctes.add(v.ctename);
  });
  walk(node, (k, v) => {
    if (k === 'RangeVar') {
      const r = rangeVar(v);
      if (r && !(r.schema === undefined && ctes.has(r.name))) out.push(r);
    }
  });
  return out;
}

/** The conjuncts of an AND tree. */
export function conjuncts(expr: any): any[] {
  const b = expr?.BoolExpr;
  if (b && b.boolop === 'AND_EXPR') return (b.args ?? []).flatMap(conjuncts);
  return [expr];
}

/** Column names proven NOT NULL by a CHECK expression: `col IS NOT NULL` conjuncts. */
export function provesNotNull(expr: any): string[] {
  const out: string[] = [];
  for (const c of conjuncts(expr)) {
    const nt = c?.NullTest;
    if (nt && nt.nulltesttype === 'IS_NOT_NULL') {
      const col = columnRefName(nt.arg);
      if (col) out.push(col);
    }
  }
  return out;
}

/** Unqualified column name of a ColumnRef, or undefined. */
export function columnRefName(expr: any): string | undefined {
  const f = expr?.ColumnRef?.fields;
  if (!Array.isArray(f) || f.length === 0) return undefined;
  const last = f[f.length - 1];
  return last?.String?.sval;
}

/** Column names referenced anywhere in an expression. */
export function columnsIn(expr: any): string[] {
  const out = new Set<string>();
  walk({ e: expr }, (k, v) => {
    if (k === 'ColumnRef') {
      const n = columnRefName({ ColumnRef: v });
      if (n) out.add(n);
    }
  });
  return [...out];
}

export function hasOption(list: any[] | undefined, name: string): boolean {
  return (list ?? []).some((d) => {
    const de = d?.DefElem;
    if (de?.defname !== name) return false;
    // `(FULL false)` turns it off.
    const arg = de.arg;
    if (arg?.Boolean) return arg.Boolean.boolval === true;
    if (arg?.String) return !['false', 'off', '0'].includes(String(arg.String.sval).toLowerCase());
    if (arg?.A_Const?.ival) return arg.A_Const.ival.ival !== 0;
    return true;
  });
}
