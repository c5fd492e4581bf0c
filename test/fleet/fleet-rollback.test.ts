import { describe, expect, it } from 'vitest';
import { planRollback, targetsForPhase } from '../../src/fleet/fleet-rollback.js';
import type { FleetStateData, TargetEntry } from '../../src/fleet/fleet-state.js';

const at = '2026-01-01T00:00:00Z';
const entry = (wave: number, status: TargetEntry['status'], reason?: string): TargetEntry => ({
  wave,
  status,
  at,
  ...(reason ? { reason } : {}),
});

function deployed(targets: Record<string, TargetEntry>, order: string[]): FleetStateData {
  return {
    version: 1,
    status: 'halted',
    startedAt: at,
    order,
    targets,
    request: {
      runbook: 'r.yaml',
      targets: 't.yaml',
      waves: [
        { count: 1, parallel: 1, soakMs: 5000, gate: 'confirm' },
        { percent: 50, parallel: 3, gate: 'none' },
        { percent: 100, parallel: 8, maxFailures: { count: 2 } },
      ],
      maxFailures: { count: 1 },
      vars: {},
      secretVars: {},
      yes: true,
      allowIrreversible: false,
      journalDir: '.pgrunbook',
    },
  };
}

describe('planRollback', () => {
  it('takes the completed targets, newest wave first, each wave with its deploy wave’s pool, limit, soak and gate', () => {
    const data = deployed(
      {
        a: entry(1, 'completed'),
        b: entry(2, 'completed'),
        c: entry(2, 'failed', 'lock timeout'),
        d: entry(3, 'completed'),
        e: entry(3, 'running'),
      },
      ['a', 'b', 'c', 'd', 'e', 'f'],
    );
    const plan = planRollback(data, 'the fleet in s');
    expect(plan.order).toEqual(['d', 'b', 'a']);
    expect(plan.waves).toEqual([
      { count: 1, parallel: 8, maxFailures: { count: 2 } },
      { count: 1, parallel: 3, gate: 'none' },
      { count: 1, parallel: 1, soakMs: 5000, gate: 'confirm' },
    ]);
    expect(plan.skipped).toEqual([
      { name: 'c', why: 'its deploy failed: lock timeout' },
      { name: 'e', why: 'its deploy running' },
      { name: 'f', why: 'its deploy never started' },
    ]);
    const t = (name: string) => ({ name, url: `postgres://h/${name}`, labels: {}, vars: {} });
    expect(targetsForPhase(plan.order, ['a', 'b', 'c', 'd'].map(t)).map((x) => x.name)).toEqual(['d', 'b', 'a']);
  });

  it('refuses a fleet with nothing deployed, and a rollback of a rollback', () => {
    expect(() => planRollback(deployed({ a: entry(1, 'failed') }, ['a']), 'fleet "x"')).toThrow(
      /no target of fleet "x" completed its deploy/,
    );
    const rb = deployed({ a: entry(1, 'completed') }, ['a']);
    rb.request.phase = 'rollback';
    expect(() => planRollback(rb, 'fleet "x-rollback"')).toThrow(/is a rollback already/);
  });
});
