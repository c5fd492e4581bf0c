// What earlier steps of the runbook do to a table before a swap_table copies it, read from the
// steps' own parameters, so plan's sample copy can replay it: the copy runs after them, into a
// shadow that carries their index and constraints, over rows their backfill rewrote (new versions,
// dead ones left behind until vacuum). Sampling the table as it is now missed all of it.
import type { StepSpec } from '../../runbook/model.js';
import { quoteIdent } from '../../pg/connection.js';
import { rangeVar, relText, splitName, strings } from '../ast.js';
import { parseStatements } from '../../pg/sqlparse.js';
import type { PlannedCopy } from '../../engine/step-kind.js';

/** A backfill to replay on each sample batch's key range before the copy reads it. */
export interface EarlierRewrite {
  stepId: string;
  set: string;
  where?: string;
}

export interface EarlierChanges {
  /** Run on the empty sample target after its own setup: the indexes and checks earlier steps add. */
  setup: string[];
  rewrites: EarlierRewrite[];
  /** Foreign keys earlier steps add (their step ids): checked per copied row, then validated on the shadow (the swap plans that for the table's own). */
  foreignKeys: string[];
  /** What is replayed, in the operator's words. */
  replayed: string[];
  /** What the sample does not replay, in the operator's words. */
  notReplayed: string[];
}

const bare = (t: unknown) => (typeof t === 'string' ? splitName(t).name : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/** Kinds whose only effect on a later copy is negligible per row (a catalog change, NOT NULL on the shadow). */
const NO_COPY_COST = new Set(['not_null', 'flag', 'wait', 'watch', 'manual', 'check', 'rehearse']);

/**
 * The changes `earlier` steps make to `table` that a copy of it into `into` (the sample target,
 * schema-qualified and quoted) pays for per row.
 */
export function earlierChanges(copy: Pick<PlannedCopy, 'table' | 'foreignKeys' | 'sample'>, earlier: StepSpec[]): EarlierChanges {
  const { table } = copy;
  const into = copy.sample.into;
  const out: EarlierChanges = { setup: [], rewrites: [], foreignKeys: [], replayed: [], notReplayed: [] };
  const schema = splitName(into).schema;
  let checks = 0;
  for (const fk of copy.foreignKeys ?? []) {
    const parts = foreignKeyParts(fk.definition);
    if (!parts) {
      out.notReplayed.push(`the check of the foreign key ${fk.name} (its definition was not understood)`);
      continue;
    }
    out.setup.push(...foreignKeyCheckSql(into, schema, checks++, parts.refTable, parts.cols, parts.refCols));
    out.replayed.push(`the check of the foreign key ${fk.name} (a per-row lookup of ${parts.refTable} FOR KEY SHARE stands in for it)`);
  }
  const before = out.replayed.length;
  for (const s of earlier) {
    const p = (s.params ?? {}) as Record<string, unknown>;
    if (bare(p.table) !== bare(table)) continue;
    if (s.kind === 'create_index') {
      const elems = [...list(p.columns).map(quoteIdent), ...list(p.expressions)];
      const include = list(p.include);
      out.setup.push(
        `CREATE ${p.unique === true ? 'UNIQUE ' : ''}INDEX ON ${into} USING ${String(p.using ?? 'btree')} (${elems.join(', ')})` +
          `${include.length ? ` INCLUDE (${include.map(quoteIdent).join(', ')})` : ''}${typeof p.where === 'string' ? ` WHERE ${p.where}` : ''}`,
      );
      out.replayed.push(`the index of ${s.id}`);
    } else if (s.kind === 'add_check' && typeof p.expression === 'string') {
      out.setup.push(`ALTER TABLE ${into} ADD CHECK (${p.expression}) NOT VALID`);
      out.replayed.push(`the check of ${s.id}`);
    } else if (s.kind === 'add_foreign_key') {
      const ref = p.references as { table?: unknown; columns?: unknown } | undefined;
      const cols = list(p.columns);
      const refCols = list(ref?.columns);
      if (typeof ref?.table !== 'string' || cols.length === 0 || cols.length !== refCols.length) {
        out.notReplayed.push(`the foreign key of step ${s.id} (its parameters name no referenced table and columns)`);
        continue;
      }
      out.setup.push(...foreignKeyCheckSql(into, schema, checks++, ref.table, cols, refCols));
      out.foreignKeys.push(s.id);
      out.replayed.push(`the foreign key of ${s.id} (a per-row lookup of ${ref.table} FOR KEY SHARE stands in for its check)`);
    } else if (s.kind === 'backfill' && typeof p.set === 'string') {
      out.rewrites.push({ stepId: s.id, set: p.set, ...(typeof p.where === 'string' ? { where: p.where } : {}) });
      out.replayed.push(`the backfill of ${s.id} (each sampled range is rewritten first: new row versions, the old ones dead)`);
    } else if (!NO_COPY_COST.has(s.kind)) out.notReplayed.push(`what step ${s.id} (${s.kind}) does to ${splitName(table).name} first`);
  }
  const fromEarlier = out.replayed.splice(before);
  if (fromEarlier.length) out.replayed.push(`what earlier steps do to ${splitName(table).name} first: ${fromEarlier.join('; ')}`);
  return out;
}

/** Columns and referenced table of a foreign key from its pg_get_constraintdef text. */
function foreignKeyParts(definition: string): { refTable: string; cols: string[]; refCols: string[] } | undefined {
  try {
    const [st] = parseStatements(`ALTER TABLE t ADD ${definition}`);
    const c = st?.ast?.cmds?.[0]?.AlterTableCmd?.def?.Constraint;
    const ref = rangeVar(c?.pktable);
    const cols = strings(c?.fk_attrs);
    const refCols = strings(c?.pk_attrs);
    if (c?.contype !== 'CONSTR_FOREIGN' || !ref || cols.length === 0 || cols.length !== refCols.length) return undefined;
    return { refTable: relText(ref), cols, refCols };
  } catch {
    return undefined;
  }
}

/**
 * A row trigger on the sample target doing what a foreign key's check does per inserted row: look
 * the key up in the referenced table and lock it FOR KEY SHARE. Adding the real constraint would
 * take a SHARE ROW EXCLUSIVE lock on the referenced table for the whole sample. Its cost, measured
 * once against the real check on the same 200,000 rows (bench/fk-stand-in.ts, load ~12): 1.11x on
 * PG 17, 0.77x on PG 18; the same within that noise, so it is taken as is, uncorrected.
 */
export function foreignKeyCheckSql(
  into: string,
  schema: string | undefined,
  n: number,
  refTable: string,
  cols: string[],
  refCols: string[],
): string[] {
  const fn = `${schema ? `${quoteIdent(schema)}.` : ''}${quoteIdent(`pgrunbook_sample_fk_${n}`)}`;
  const match = cols.map((c, i) => `x.${quoteIdent(refCols[i]!)} = NEW.${quoteIdent(c)}`).join(' AND ');
  return [
    `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $pgrunbook_fk$
BEGIN
  PERFORM 1 FROM ONLY ${relText(splitName(refTable))} x WHERE ${match} FOR KEY SHARE OF x;
  RETURN NULL;
END $pgrunbook_fk$`,
    `CREATE TRIGGER ${quoteIdent(`pgrunbook_sample_fk_${n}`)} AFTER INSERT ON ${into} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  ];
}
