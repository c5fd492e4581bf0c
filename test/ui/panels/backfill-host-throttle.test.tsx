// A host rule's throttle on screen and in the plain output: the step.throttle events come from the
// real host_cpu / io_wait rules and throttle governor (scripted node_exporter figures, a fake clock),
// the way the backfill engine emits them; the Backfill panel and the log show the rule with the
// figure that fired it, and the plain renderer prints the whole detail.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { App } from '../../../src/ui/app.js';
import { plainRenderer } from '../../../src/render/plain-renderer.js';
import { HostRulesWatch } from '../../../src/backfill/host-rules.js';
import { ThrottleGovernor } from '../../../src/backfill/throttle.js';
import { batchKnobs } from '../../../src/backfill/params.js';
import { FakeClock } from '../../../src/util/clock.js';
import type { HostReading } from '../../../src/engine/ports.js';
import { recordingIntents, renderAt, waitForFrame, withProviders } from '../support/harness.js';
import { runningBackfill } from '../support/events.js';

afterEach(() => cleanup());

const SOURCE = 'node_exporter at http://db1:9100/metrics';
const reading = (cpuBusyPct: number, ioWaitPct: number): HostReading => ({
  ok: true,
  figures: { seconds: 1, cpuBusyPct, cpus: 4, ioWaitPct, diskQueueDepth: 3.2, diskAwaitMs: 18, memAvailableBytes: 2e9, memTotalBytes: 8e9 },
});

/** The throttle changes the real rules and governor make of these readings, one poll each. */
async function hostThrottleChanges(readings: HostReading[]): Promise<{ reason: string | null; detail?: string }[]> {
  const clock = new FakeClock();
  const cfg = batchKnobs({}).throttle;
  const governor = new ThrottleGovernor(cfg, 100, 0, clock);
  let i = 0;
  const watch = new HostRulesWatch(
    { hostCpuPct: cfg.hostCpuPct, ioWaitPct: cfg.ioWaitPct, explicit: false },
    { source: SOURCE, read: async () => readings[i++]! },
    () => {},
  );
  const out: { reason: string | null; detail?: string }[] = [];
  for (let n = 0; n < readings.length; n++) {
    const v = await watch.poll();
    if (v.hostCpu !== undefined) governor.observeRule('host_cpu', v.hostCpu);
    if (v.ioWait !== undefined) governor.observeRule('io_wait', v.ioWait);
    governor.observeBatch(1000, 80);
    clock.advance(1000);
    governor.decide();
    out.push(...governor.changes());
  }
  return out;
}

function backfillRun() {
  const { store, b } = runningBackfill({
    rowsDone: 120_000,
    rowsTotal: 1_000_000,
    batches: 24,
    pauseMs: 80,
    rate: 30_000,
    etaSeconds: 29,
    lastBatchMs: 80,
  });
  const plain: string[] = [];
  b.bus.on(plainRenderer((s) => plain.push(s)));
  return { store, b, plain };
}

describe('host rule throttles in the TUI and the plain output', () => {
  it('host_cpu: the Backfill panel and the log show the CPU figure; plain prints the whole detail', async () => {
    const changes = await hostThrottleChanges([{ ok: true, figures: null }, reading(93, 2)]);
    expect(changes.map((c) => c.reason)).toEqual(['host_cpu']);
    const { store, b, plain } = backfillRun();
    for (const c of changes) b.emit({ type: 'step.throttle', stepId: 'backfill_amount', ...c });
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} />), { columns: 160, rows: 40 });
    const f = await waitForFrame(inst, (t) => t.includes('Backfill') && t.includes('throttle: host_cpu'), 'the host_cpu throttle');
    expect(f).toMatch(/· throttle: host_cpu \(CPU busy 93% on the database host over the last 1 s/);
    expect(f).toContain('backfill_amount: throttle: host_cpu (CPU busy 93% on the database host over the last 1 s, over the 85% limit');
    expect(plain.at(-1)?.trimEnd()).toMatch(
      /^\d\d:\d\d:\d\d backfill_amount: throttle: host_cpu \(CPU busy 93% on the database host over the last 1 s, over the 85% limit \(node_exporter at http:\/\/db1:9100\/metrics\): batches run 47% of the time\)$/,
    );
  });

  it('io_wait: the figure and the disk queue and await that go with it', async () => {
    const changes = await hostThrottleChanges([{ ok: true, figures: null }, reading(40, 27)]);
    expect(changes.map((c) => c.reason)).toEqual(['io_wait']);
    const { store, b, plain } = backfillRun();
    for (const c of changes) b.emit({ type: 'step.throttle', stepId: 'backfill_amount', ...c });
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} />), { columns: 160, rows: 40 });
    const f = await waitForFrame(inst, (t) => t.includes('throttle: io_wait'), 'the io_wait throttle');
    expect(f).toMatch(/· throttle: io_wait \(CPU time in I\/O wait 27% on the database host/);
    expect(plain.at(-1)).toContain(
      'backfill_amount: throttle: io_wait (CPU time in I/O wait 27% on the database host over the last 1 s, busiest disk queue 3.2, await 18.0 ms, over the 20% limit (node_exporter at http://db1:9100/metrics): batches run half the time)',
    );
  });
});
