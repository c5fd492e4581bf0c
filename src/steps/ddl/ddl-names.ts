// Object names as PostgreSQL would derive them, and quoting of (schema, name) pairs.
import { quoteIdent, splitQualified } from '../../pg/connection.js';

export const NAMEDATALEN = 63;

/** `schema.name` quoted part by part. */
export function qname(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** The bare (unqualified) relation name of `schema.table` or `table`. */
export function bareName(name: string): string {
  const parts = splitQualified(name);
  return parts[parts.length - 1]!;
}

/** Truncates to PostgreSQL's identifier limit (63 bytes), as the server would. */
export function truncateIdent(name: string): string {
  let out = name;
  while (Buffer.byteLength(out, 'utf8') > NAMEDATALEN) out = out.slice(0, -1);
  return out;
}

/** Default constraint/index name in PostgreSQL's style: table_col1_col2_suffix, truncated. */
export function derivedName(table: string, columns: string[], suffix: string): string {
  const base = [bareName(table), ...columns].join('_').replace(/[^A-Za-z0-9_]+/g, '_');
  const max = NAMEDATALEN - suffix.length - 1;
  let head = base;
  while (Buffer.byteLength(head, 'utf8') > max) head = head.slice(0, -1);
  return `${head}_${suffix}`;
}
