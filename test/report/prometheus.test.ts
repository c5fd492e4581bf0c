import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/engine/events.js';
import { PrometheusExporter } from '../../src/report/prometheus.js';

describe('PrometheusExporter', () => {
  it('turns the event stream into metrics served over HTTP', async () => {
    const exporter = new PrometheusExporter();
    const bus = new EventBus('run-1');
    bus.on(exporter.listener);
    bus.emit({
      type: 'run.started',
      runbook: 'rb',
      file: 'rb.yaml',
      target: { host: 'h', port: 5432, database: 'app', user: 'u' },
      phases: ['deploy'],
      resumed: false,
      user: 'u',
      host: 'h',
      pid: 1,
    });
    bus.emit({
      type: 'run.plan',
      steps: [{ phase: 'deploy', id: 'fill', kind: 'backfill', title: 'fill', gate: 'none', reversible: true }],
    });
    bus.emit({ type: 'step.started', phase: 'deploy', stepId: 'fill', kind: 'backfill', title: 'fill', attempt: 1 });
    bus.emit({ type: 'step.retry', stepId: 'fill', attempt: 1, of: 3, delayMs: 10, reason: 'x' });
    bus.emit({
      type: 'step.progress',
      stepId: 'fill',
      progress: {
        kind: 'backfill',
        rowsDone: 500,
        rowsTotal: 1000,
        batches: 5,
        batchSize: 100,
        pauseMs: 0,
        rate: 250,
        etaSeconds: 2,
        lastBatchMs: 90,
        pass: 'main',
        paused: false,
        throttle: 'replication lag',
      },
    });
    const server = await exporter.listen(0);
    const port = (server.address() as { port: number }).port;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    server.close();
    expect(text).toMatch(/pgrunbook_run_info\{run_id="run-1",runbook="rb",database="app"\} 1/);
    expect(text).toMatch(/pgrunbook_step_state\{phase="deploy",step="fill"\} 1/);
    expect(text).toMatch(/pgrunbook_lock_retries_total\{step="fill"\} 1/);
    expect(text).toMatch(/pgrunbook_backfill_rows_done\{step="fill"\} 500/);
    expect(text).toMatch(/pgrunbook_backfill_throttled\{step="fill"\} 1/);
    bus.emit({ type: 'step.completed', phase: 'deploy', stepId: 'fill', durationMs: 2500 });
    expect(await exporter.metrics()).toMatch(/pgrunbook_step_duration_seconds\{phase="deploy",step="fill"\} 2.5/);
  });
});
