// `--sample 1%`, `--sample 0.5`, `sample: 10%`: a percentage in (0, 100].
import { InputError } from '../engine/errors.js';

export function parseSamplePct(v: string | number): number {
  const n = typeof v === 'number' ? v : Number(String(v).trim().replace(/%$/, ''));
  if (!Number.isFinite(n) || n <= 0 || n > 100) {
    throw new InputError(`--sample "${v}": expected a percentage above 0 and at most 100`, 'for example --sample 1% (the default) or --sample 10');
  }
  return n;
}
