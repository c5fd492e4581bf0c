// Which strings inside a step's params are SQL or shell: kinds list dotted paths in `sqlFields` /
// `shellFields`. '' is the value itself (`sql: SELECT ...`), `*` matches any key or index, and a
// path that names a list covers each string in it (`statements` covers statements[0], [1], ...).
import type { RunbookKind } from './kind-table.js';
import type { FieldMode } from './template.js';

export type ParamPath = (string | number)[];

function matches(pattern: string, path: ParamPath): boolean {
  const segs = pattern === '' ? [] : pattern.split('.');
  const n = segs.length;
  if (path.length !== n && !(path.length === n + 1 && typeof path[n] === 'number')) return false;
  return segs.every((s, i) => s === '*' || s === String(path[i]));
}

export function fieldMode(kind: Pick<RunbookKind, 'sqlFields' | 'sqlFragmentFields' | 'shellFields'>, path: ParamPath): FieldMode {
  if (kind.sqlFragmentFields?.some((p) => matches(p, path))) return 'sql-fragment';
  if (kind.sqlFields?.some((p) => matches(p, path))) return 'sql';
  if (kind.shellFields?.some((p) => matches(p, path))) return 'shell';
  return 'plain';
}

/** `until.query`, `statements[1]`; with a prefix: `wait.until.query`, `sql[0]`. */
export function formatPath(path: ParamPath, prefix = ''): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 && !prefix ? p : `.${p}`))
    .join('')
    .replace(/^/, prefix);
}
