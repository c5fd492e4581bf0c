// One spelling for relation names across pg_locks, plans and reports: unquoted, `public.` dropped.
import { splitQualified } from '../pg/connection.js';

export function normRel(name: string): string {
  const parts = splitQualified(name.trim());
  if (parts.length === 2 && parts[0] === 'public') return parts[1]!;
  return parts.join('.');
}
