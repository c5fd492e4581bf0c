// Every step kind, by the key that names it in a runbook. One kind per file in this folder.
import type { StepKind } from './types.js';

const kinds: StepKind[] = [];

export const STEP_KINDS: ReadonlyMap<string, StepKind> = new Map(kinds.map((k) => [k.kind, k]));

export function stepKind(kind: string): StepKind {
  const k = STEP_KINDS.get(kind);
  if (!k) throw new Error(`unknown step kind "${kind}"`);
  return k;
}
