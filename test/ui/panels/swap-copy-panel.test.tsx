// swap_table's copy runs in the backfill engine; the run screen gives it the batch panel, titled Copy (rows,
// rate, ETA, batch size) as it does a backfill step. The events below have the shape a real swap emits
// (captured from test/steps/swap-table.test.ts's copy: step.log lines and step.progress with
// progress.kind 'backfill'); the figures are those of a larger table part-way through its copy.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { App } from '../../../src/ui/app.js';
import type { BackfillProgress } from '../../../src/engine/events.js';
import { recordingIntents, renderAt, waitForFrame, withProviders } from '../support/harness.js';
import { startedRun } from '../support/events.js';

afterEach(() => cleanup());

const STEP = 'swap_accounts_id';

function progress(p: Partial<BackfillProgress>): BackfillProgress {
  return {
    rowsDone: 0,
    rowsTotal: 500_000,
    batches: 0,
    batchSize: 2000,
    pauseMs: 0,
    rate: 0,
    etaSeconds: null,
    lastBatchMs: 0,
    pass: 'main',
    paused: false,
    throttle: null,
    ...p,
  };
}

function swapRun() {
  const { store, b } = startedRun(
    { runbook: 'Widen accounts.id', file: 'runbooks/widen.yaml' },
    {
      type: 'run.plan',
      steps: [
        {
          phase: 'deploy',
          id: STEP,
          kind: 'swap_table',
          title: 'Copy accounts into a bigint-keyed twin and swap',
          gate: 'confirm',
          reversible: true,
        },
      ],
    },
  );
  b.emit({ type: 'step.started', phase: 'deploy', stepId: STEP, kind: 'swap_table', title: 'Copy and swap', attempt: 1 });
  b.emit({
    type: 'step.log',
    stepId: STEP,
    level: 'info',
    message: 'copy of public.accounts into accounts_new by key (id); main pass up to (500000)',
  });
  const tick = (p: Partial<BackfillProgress>) => {
    b.tick(1000);
    b.emit({ type: 'step.progress', stepId: STEP, progress: { kind: 'backfill', ...progress(p) } });
  };
  return { store, b, tick };
}

describe('the Backfill panel during a swap_table copy (80×24)', () => {
  it('shows the swap step copying: rows, rate, ETA and batch size, updated as batches and the batch size change', async () => {
    const { store, tick } = swapRun();
    tick({ rowsDone: 2000, batches: 1, lastBatchMs: 61 });
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} monitored={false} />));
    let f = await waitForFrame(
      inst,
      (t) => t.includes('── Copy') && !t.includes('Backfill') && t.includes('2,000 / ~500,000 rows'),
      'the first batch',
    );
    expect(f).toContain(`${STEP} · main`);
    expect(f).toContain('0.4%');
    expect(f).toContain('batch 2,000');
    expect(f).toContain('ETA —'); // no rate yet, so no ETA rather than a made-up one

    // Part-way through, after the tuner grew the batch: each figure comes from the latest event.
    tick({ rowsDone: 215_000, batches: 70, batchSize: 4000, rate: 14_250, etaSeconds: 20, lastBatchMs: 180 });
    f = await waitForFrame(inst, (t) => t.includes('215,000 / ~500,000 rows'), 'the copy part-way');
    expect(f).toContain('43.0%');
    expect(f).toMatch(/14\.\dk rows\/s/);
    expect(f).toContain('ETA 20s');
    expect(f).toContain('batch 4,000');
    expect(f).toContain('last 180ms');
    expect(f).toContain('throttle: none');
    for (const l of f.split('\n')) expect(l.length, `line wider than 80: "${l}"`).toBeLessThanOrEqual(80);

    // The retry pass (rows that other sessions held) is named in the panel's title line.
    tick({ rowsDone: 500_000, batches: 160, batchSize: 4000, rate: 15_100, etaSeconds: 0, lastBatchMs: 12, pass: 'retry' });
    f = await waitForFrame(inst, (t) => t.includes('500,000 / ~500,000 rows'), 'the copy done');
    expect(f).toContain(`${STEP} · retry`);
    expect(f).toContain('100.0%');
  });
});
