// Durations in runbooks: `500ms`, `2s`, `5m`, `1h`, `1m30s`; a bare number means milliseconds.
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d)/y;

/** JSON Schema pattern for the string form (kept in step with parseDuration). */
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?\\s*(ms|sec|min|s|m|h|d)\\s*)+$|^\\s*\\d+(\\.\\d+)?\\s*$';

export const DURATION_HINT = 'write a number with a unit: 500ms, 2s, 5m, 1h or 1m30s (a bare number means milliseconds)';

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s));
  let total = 0;
  let i = 0;
  let parts = 0;
  while (i < s.length) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    PART.lastIndex = i;
    const m = PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    i = PART.lastIndex;
    parts++;
  }
  return parts > 0 ? Math.round(total) : undefined;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms > 1000) return `${(ms / 1000).toFixed(1)}s`;
  return `${ms}ms`;
}

/**
 * Zod schema for a duration field; parses to milliseconds. `positive` rejects 0 with `zeroMessage`.
 * The JSON Schema (io: input) shows the accepted string pattern and the number form.
 */
export function zDuration(opts: { positive?: boolean; zeroMessage?: string } = {}) {
  const bad = (input: unknown) => `bad duration ${JSON.stringify(input)}: ${DURATION_HINT}`;
  return z
    .union(
      [
        z.number().nonnegative({ error: (iss) => `a duration cannot be negative (got ${String(iss.input)}): ${DURATION_HINT}` }),
        z.string().regex(new RegExp(DURATION_PATTERN), { error: (iss) => bad(iss.input) }),
      ],
      { error: (iss) => bad(iss.input) },
    )
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.issues.push({ code: 'custom', message: bad(v), input: v });
        return z.NEVER;
      }
      if (opts.positive && ms === 0) {
        ctx.issues.push({ code: 'custom', message: opts.zeroMessage ?? 'must be more than 0', input: v });
        return z.NEVER;
      }
      return ms;
    });
}
