// CREATE [UNIQUE] INDEX (SHARE lock: writes wait for the whole build) → create_index, which builds
// CONCURRENTLY under SHARE UPDATE EXCLUSIVE and cleans up an INVALID leftover.
import { findKeyword, insideParens, splitCommas, textOf, tokenAt } from '../sql-text.js';
import { strings } from '../../analyze/ast.js';
import { danger, draft, pgDefaultName, relName, type RuleInput, type RuleResult } from './rule-context.js';

const METHODS = new Set(['btree', 'hash', 'gist', 'gin', 'brin', 'spgist']);

export function createIndexRule(input: RuleInput): RuleResult | undefined {
  const ix = input.ast;
  if (ix.concurrent || ix.if_not_exists || ix.nulls_not_distinct || ix.options || ix.tableSpace || !ix.relation) return undefined;
  const using = ix.accessMethod ?? 'btree';
  if (!METHODS.has(using)) return undefined;
  const toks = input.toks;
  // The element list: the first '(' after the table name.
  let open = tokenAt(toks, ix.relation.location);
  while (open < toks.length && toks[open]!.text !== '(') open++;
  const [a, b] = insideParens(toks, open);
  const elems = splitCommas(toks, a, b).map(([s, e]) => textOf(input.unit.sql, toks, s, e));
  const params: any[] = ix.indexParams ?? [];
  const plain = params.every((p) => {
    const e = p.IndexElem;
    return (
      e?.name &&
      !e.opclass?.length &&
      (e.ordering ?? 'SORTBY_DEFAULT') === 'SORTBY_DEFAULT' &&
      (e.nulls_ordering ?? 'SORTBY_NULLS_DEFAULT') === 'SORTBY_NULLS_DEFAULT' &&
      !e.collation &&
      !e.opclassopts
    );
  });
  const columns = params.map((p) => p.IndexElem?.name as string);
  const table = relName(ix.relation);
  // Without a name PostgreSQL derives one from the expressions (FigureColname): not guessed here.
  if (!ix.idxname && !plain) return undefined;
  const name = ix.idxname ?? pgDefaultName(ix.relation.relname, columns, 'idx');
  const w = ix.whereClause ? findKeyword(toks, b, toks.length, 'WHERE', 0) : -1;
  const include = strings((ix.indexIncludingParams ?? []).map((p: any) => ({ String: { sval: p.IndexElem?.name } })));
  const step = draft(input, {
    id: input.id(`index_${name}`),
    kind: 'create_index',
    params: {
      table,
      name,
      ...(plain ? { columns } : { expressions: elems }),
      ...(ix.unique ? { unique: true } : {}),
      ...(using !== 'btree' ? { using } : {}),
      ...(include.length ? { include } : {}),
      ...(w >= 0 ? { where: textOf(input.unit.sql, toks, w + 1, toks.length) } : {}),
    },
    lock_timeout: '1m',
    why: `${danger(input.analysis)} Instead: CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY under SHARE UPDATE EXCLUSIVE (reads and writes go on); an INVALID leftover of a failed build is dropped and rebuilt.`,
  });
  if (!ix.idxname) step.why += ` Named ${name}, as PostgreSQL would name it.`;
  return { steps: [step], reason: 'CREATE INDEX → create_index (CONCURRENTLY)', lockAfter: 'SHARE UPDATE EXCLUSIVE' };
}
