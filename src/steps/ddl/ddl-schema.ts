// Zod building blocks shared by the DDL step kinds. Values reach the kinds after variable
// rendering, so booleans and numbers may arrive as strings ("true", "2000"): accept both.
import { z } from 'zod';

export const identifier = z.string().trim().min(1, 'must not be empty').max(200);

/**
 * A table name, optionally schema-qualified (`orders`, `app.orders`, `"Odd Name"`).
 * @alias identifier, named for what it holds
 */
export const tableName = identifier;

export const identList = z.union([identifier, z.array(identifier).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const boolish = z.preprocess((v) => {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(s)) return true;
    if (['false', 'no', 'off', '0', ''].includes(s)) return false;
  }
  return v;
}, z.boolean());

export const intish = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));

/** Durations (`500ms`, `2s`, `1m30s`, a bare number = ms), shared with the runbook loader. */
export { zDuration } from '../../runbook/durations.js';
