// Zod issues -> short, operator-facing messages, and where in a zod schema a path leads (for
// "did you mean" on unknown keys inside a step kind's value).
import type { z } from 'zod';
import { closest, didYouMean } from './suggest.js';

type Issue = z.core.$ZodIssue;

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  return 'a mapping';
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'nothing (null)',
};

/**
 * Unions hide what went wrong inside them. Where exactly one kind of value was meant (only one
 * branch got past the type check), report that branch's issues at their own paths; where none
 * was, say which types are accepted.
 */
export function flattenIssues(issues: readonly Issue[], base: PropertyKey[] = []): Issue[] {
  const out: Issue[] = [];
  for (const iss of issues) {
    const path = [...base, ...iss.path];
    if (iss.code === 'invalid_union' && iss.errors?.length && (!iss.message || iss.message === 'Invalid input')) {
      const rootType = (b: readonly Issue[]) => b.some((x) => x.path.length === 0 && x.code === 'invalid_type');
      const viable = iss.errors.filter((b) => b.length > 0 && !rootType(b));
      if (viable.length > 0) {
        out.push(...flattenIssues(viable[0]!, path));
        continue;
      }
      const expected = [
        ...new Set(
          iss.errors.flatMap((b) =>
            b.filter((x) => x.path.length === 0 && x.code === 'invalid_type').map((x) => (x as { expected: string }).expected),
          ),
        ),
      ];
      out.push({ ...iss, code: 'invalid_type', expected: expected.join('|'), path } as unknown as Issue);
      continue;
    }
    out.push({ ...iss, path } as Issue);
  }
  return out;
}

/** Zod's built-in messages; anything else was written for the field and is kept. */
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Unrecognized)/;

export function issueMessage(iss: Issue): string {
  const input = (iss as { input?: unknown }).input;
  if (iss.message && !ZOD_DEFAULT.test(iss.message) && iss.code !== 'invalid_union') return iss.message;
  switch (iss.code) {
    case 'invalid_type': {
      if (input === undefined && iss.path.length > 0) return 'missing: this key is required';
      const names = String(iss.expected)
        .split('|')
        .map((e) => TYPE_NAMES[e] ?? e);
      return `expected ${names.join(' or ')}, got ${describeValue(input)}`;
    }
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${min} characters long`;
      if (iss.origin === 'array') return `needs at least ${min} item${min === 1 ? '' : 's'}`;
      if (iss.origin === 'number' || iss.origin === 'int' || iss.origin === 'bigint') {
        return `must be ${iss.inclusive ? 'at least' : 'more than'} ${min}, got ${describeValue(input)}`;
      }
      return iss.message;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'string') return `must be at most ${max} characters long`;
      if (iss.origin === 'array') return `takes at most ${max} item${max === 1 ? '' : 's'}`;
      if (iss.origin === 'number' || iss.origin === 'int')
        return `must be ${iss.inclusive ? 'at most' : 'less than'} ${max}, got ${describeValue(input)}`;
      return iss.message;
    }
    case 'invalid_value': {
      const values = iss.values.map((v) => JSON.stringify(v));
      const hint = typeof input === 'string' ? didYouMean(input, iss.values.map(String)) : '';
      return `expected ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}, got ${describeValue(input)}${hint}`;
    }
    case 'invalid_union': {
      if (iss.message && iss.message !== 'Invalid input') return iss.message;
      // The branch that got furthest says most about what was meant.
      const branches = (iss.errors ?? []).filter((b) => b.length > 0);
      const typed = branches.find((b) => b.every((x) => x.code !== 'invalid_type'));
      if (typed) return issueMessage(typed[0]!);
      return `${describeValue(input)} does not fit this field`;
    }
    default:
      return iss.message;
  }
}

/** Keys accepted at `path` inside `schema`, or undefined when unknown (best effort). */
export function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] | undefined {
  const out = new Set<string>();
  collect(schema, path, out, 0);
  return out.size ? [...out] : undefined;
}

function collect(schema: any, path: PropertyKey[], out: Set<string>, depth: number): void {
  const def = schema?._zod?.def;
  if (!def || depth > 40) return;
  const again = (s: any, p = path) => collect(s, p, out, depth + 1);
  switch (def.type) {
    case 'object':
      if (path.length === 0) Object.keys(def.shape).forEach((k) => out.add(k));
      else if (def.shape[path[0] as string]) again(def.shape[path[0] as string], path.slice(1));
      return;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return again(def.innerType);
    case 'pipe':
      again(def.in);
      again(def.out);
      return;
    case 'union':
      for (const o of def.options) again(o);
      return;
    case 'array':
      if (path.length > 0) again(def.element, path.slice(1));
      return;
    case 'record':
      if (path.length > 0) again(def.valueType, path.slice(1));
      return;
    case 'lazy':
      return again(def.getter());
  }
}

export function suggestKey(key: string, candidates: string[] | undefined): string {
  if (!candidates) return '';
  const c = closest(key, candidates);
  return c ? ` (did you mean "${c}"?)` : '';
}
