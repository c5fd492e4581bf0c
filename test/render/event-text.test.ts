import { describe, expect, it } from 'vitest';
import { EventBus, type EventBody, type RunEvent } from '../../src/engine/events.js';
import { eventText } from '../../src/render/event-text.js';
import { formatPlain, plainRenderer } from '../../src/render/plain-renderer.js';
import { registerSecret } from '../../src/util/secrets.js';

function events(bodies: EventBody[]): RunEvent[] {
  let now = Date.parse('2026-01-02T03:04:05Z');
  const bus = new EventBus('r1', () => (now += 1000));
  const out: RunEvent[] = [];
  bus.on((e) => out.push(e));
  for (const b of bodies) bus.emit(b);
  return out;
}

const one = (b: EventBody): RunEvent => events([b])[0]!;

describe('eventText (the TUI log and the plain renderer)', () => {
  it('names the step first, with durations in the shared unit format', () => {
    expect(eventText(one({ type: 'step.completed', phase: 'deploy', stepId: 'add_col', durationMs: 1234 }))).toEqual({
      level: 'info',
      stepId: 'add_col',
      text: 'add_col: done in 1.2s',
    });
    const failed = eventText(
      one({
        type: 'step.failed',
        phase: 'deploy',
        stepId: 'nn',
        durationMs: 50,
        error: 'lock timeout',
        sqlstate: '55P03',
        hint: 'find the blocker',
      }),
    );
    expect(failed).toMatchObject({ level: 'error', text: 'nn: FAILED after 50ms: lock timeout [55P03] — hint: find the blocker' });
  });

  it('words a gate decision the same for both front-ends', () => {
    const request = {
      id: 'g',
      stepId: 'nn',
      level: 'type' as const,
      title: 'Make NOT NULL',
      action: 'SET NOT NULL',
      lockMode: 'AccessExclusiveLock',
      evidence: [],
    };
    expect(eventText(one({ type: 'gate.requested', request }))?.text).toBe(
      'nn: gate (type) Make NOT NULL: SET NOT NULL [takes ACCESS EXCLUSIVE]',
    );
    expect(
      eventText(one({ type: 'gate.decided', request, decision: { approved: false, by: 'policy', reason: 'pass --yes' } })),
    ).toMatchObject({
      level: 'warn',
      text: 'nn: gate declined by policy: pass --yes',
    });
  });

  it('redacts registered secrets in the line and in the lines under it', () => {
    registerSecret('s3cret-pw');
    const log = eventText(one({ type: 'step.log', stepId: 'x', level: 'warn', message: 'postgres://u:s3cret-pw@h/db' }));
    expect(log?.text).toBe('x: warn: postgres://u:***@h/db');
    const plan = eventText(one({ type: 'phase.plan', phase: 'deploy', summary: '1 step', lines: ['uses s3cret-pw', ' '] }));
    expect(plan?.more).toEqual(['uses ***']);
  });
});

describe('plain renderer', () => {
  it('puts the time in front and the plan lines under the line', () => {
    const [e] = events([{ type: 'phase.plan', phase: 'deploy', summary: '2 steps', lines: ['a', 'b'] }]);
    expect(formatPlain(e!)).toBe('03:04:06 deploy plan: 2 steps\n         a\n         b');
  });

  it('says when two backfill workers run, with the rate of both', () => {
    const progress = {
      kind: 'backfill' as const,
      rowsDone: 5000,
      rowsTotal: 10000,
      batches: 10,
      batchSize: 500,
      pauseMs: 0,
      rate: 2500,
      etaSeconds: 2,
      lastBatchMs: 40,
      pass: 'main' as const,
      paused: false,
      throttle: null,
    };
    const two = { ...progress, workers: { running: 2, batches: [6, 4], rows: [3000, 2000] } };
    expect(eventText(one({ type: 'step.progress', stepId: 'fill', progress: two }))?.text).toBe(
      'fill: 5000/10000 rows (50.0%), 2500 rows/s, 2 workers, batch 500, ETA 2s',
    );
    const parked = { ...progress, workers: { running: 1, batches: [6, 4], rows: [3000, 2000] } };
    expect(eventText(one({ type: 'step.progress', stepId: 'fill', progress: parked }))?.text).toBe(
      'fill: 5000/10000 rows (50.0%), 2500 rows/s, batch 500, ETA 2s',
    );
  });

  it('samples progress every 2 s per step', () => {
    const progress = { kind: 'generic' as const, label: 'rows', done: 1, total: 10 };
    const evs = events([
      { type: 'step.progress', stepId: 's', progress },
      { type: 'step.progress', stepId: 's', progress: { ...progress, done: 2 } },
      { type: 'step.progress', stepId: 's', progress: { ...progress, done: 3 } },
    ]);
    const out: string[] = [];
    const render = plainRenderer((s) => out.push(s));
    for (const e of evs) render(e);
    expect(out).toEqual(['03:04:06 s: rows 1/10\n', '03:04:08 s: rows 3/10\n']);
  });
});
