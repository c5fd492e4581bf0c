// `fleet run --phase rollback`: which targets of a deploy fleet are rolled back and in what order.
// Only targets whose deploy completed; the deploy's newest wave first, each rollback wave with the
// parallelism, failure limit, soak and gate its deploy wave had. The others are named with why.
import { InputError } from '../util/runbook-error.js';
import type { FleetStateData } from './fleet-state.js';
import type { FleetTarget } from './fleet-targets.js';
import type { WaveSpec } from './fleet-waves.js';

export interface RollbackPlan {
  /** The targets to roll back, in order: the deploy's newest wave first. */
  order: string[];
  waves: WaveSpec[];
  /** Targets left alone, with why (their deploy did not complete). */
  skipped: { name: string; why: string }[];
}

/** The rollback of `deploy`, a fleet's state; `of` names that fleet for the operator. */
export function planRollback(deploy: FleetStateData, of: string): RollbackPlan {
  if (deploy.request.phase === 'rollback')
    throw new InputError(`${of} is a rollback already`, 'name the deploy fleet to roll back (`pgrunbook fleet status` shows it)');
  const names = deploy.order ?? Object.keys(deploy.targets);
  const byWave = new Map<number, string[]>();
  const skipped: RollbackPlan['skipped'] = [];
  for (const name of names) {
    const e = deploy.targets[name];
    if (e?.status === 'completed') byWave.set(e.wave, [...(byWave.get(e.wave) ?? []), name]);
    else skipped.push({ name, why: e ? `its deploy ${e.status}${e.reason ? `: ${e.reason}` : ''}` : 'its deploy never started' });
  }
  if (byWave.size === 0)
    throw new InputError(`no target of ${of} completed its deploy: nothing to roll back`, '`pgrunbook fleet status` shows each target');
  const waves = [...byWave.keys()].sort((a, b) => b - a);
  return {
    order: waves.flatMap((w) => byWave.get(w)!),
    waves: waves.map((w) => {
      const { count: _c, percent: _p, match: _m, ...rest } = deploy.request.waves[w - 1] ?? { parallel: 1 };
      return { ...rest, count: byWave.get(w)!.length };
    }),
    skipped,
  };
}

/** The targets a fleet runs, in its order: a rollback's only, newest deploy wave first. */
export function targetsForPhase(order: string[] | undefined, targets: FleetTarget[]): FleetTarget[] {
  if (!order) return targets;
  const byName = new Map(targets.map((t) => [t.name, t]));
  return order.flatMap((n) => {
    const t = byName.get(n);
    return t ? [t] : [];
  });
}

/** Lines for the operator: what a rollback fleet undoes and what it leaves alone. */
export function rollbackLines(data: FleetStateData): string[] {
  const r = data.request.rollback;
  if (!r) return [];
  return [
    `rollback of ${r.of}: ${r.order.length} targets whose deploy completed, newest wave first`,
    ...r.skipped.map((s) => `[${s.name}] skipped, not rolled back: ${s.why}`),
  ];
}
