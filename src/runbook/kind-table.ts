// What the runbook loader and the JSON Schema need to know about a step kind: its params schema,
// which param strings are SQL or shell (for `{{ var }}` quoting), and its offline checks. The
// composition root (src/cli/composition-root.ts) passes the table in; the runbook layer imports no kind.
import type { z } from 'zod';
import type { Problem, Runbook, StepSpec } from './model.js';

export interface ValidateContext {
  runbook: Runbook;
  step: StepSpec;
}

export interface RunbookKind<P = any> {
  kind: string;
  /** Schema of the value under the kind key. */
  schema: z.ZodType<P>;
  /** Dotted paths inside params whose strings are SQL: `{{ var }}` renders with SQL quoting there. */
  sqlFields?: string[];
  /**
   * Dotted paths of SQL fragments (an expression, a WHERE condition, SET assignments): `{{ var }}`
   * renders with SQL quoting as in sqlFields, but the loader does not parse them as statements;
   * the kind's validate() checks them.
   */
  sqlFragmentFields?: string[];
  /** Dotted paths inside params whose strings are shell commands: `{{ var }}` renders shell-quoted. */
  shellFields?: string[];
  /** Offline checks beyond the schema (SQL parse...). Problems carry positions where known. */
  validate?(step: StepSpec<P>, ctx: ValidateContext): Problem[] | Promise<Problem[]>;
}

/** Step kinds by the key that names them in a runbook. */
export type KindTable<K extends RunbookKind = RunbookKind> = ReadonlyMap<string, K>;
