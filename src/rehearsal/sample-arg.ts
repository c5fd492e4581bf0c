// `--sample 1%`, `--sample 0.5`, `sample: 10%`: a percentage in (0, 100]; and `--sample-method`.
import { InputError } from '../util/runbook-error.js';

export function parseSamplePct(v: string | number): number {
  const n = typeof v === 'number' ? v : Number(String(v).trim().replace(/%$/, ''));
  if (!Number.isFinite(n) || n <= 0 || n > 100) {
    throw new InputError(
      `--sample "${v}": expected a percentage above 0 and at most 100`,
      'for example --sample 1% (the default) or --sample 10',
    );
  }
  return n;
}

/**
 * How sampled tables are drawn (`--sample-method`):
 *  - auto (default): a touched table (or partition) whose non-unique index key repeats gets slices of whole key
 *    groups of that key; other tables get primary-key slices; tables without a key (or never
 *    analyzed) get a TABLESAMPLE;
 *  - slices: primary-key slices only;
 *  - tablesample: blocks (SYSTEM) for big tables, rows (BERNOULLI) for small ones.
 */
export type SampleChoice = 'auto' | 'slices' | 'tablesample';
export const SAMPLE_CHOICES: readonly SampleChoice[] = ['auto', 'slices', 'tablesample'];

/** `--sample-method auto|slices|tablesample`. */
export function parseSampleMethod(v: string | undefined): SampleChoice {
  const s = (v ?? 'auto').trim().toLowerCase();
  if (!(SAMPLE_CHOICES as readonly string[]).includes(s)) {
    throw new InputError(
      `--sample-method "${v}": expected ${SAMPLE_CHOICES.join(', ')}`,
      'auto (the default) keeps whole key groups of a repeated index key where they fit, else takes slices of the primary key',
    );
  }
  return s as SampleChoice;
}
