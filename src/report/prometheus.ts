// Prometheus exporter: one more listener on the event stream. `--metrics-port` serves /metrics
// so a deploy can be watched from Grafana next to the database's own exporters.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { RunEvent } from '../engine/events.js';

const STEP_STATE = { pending: 0, running: 1, completed: 2, failed: 3, skipped: 4 } as const;

export class PrometheusExporter {
  readonly registry = new Registry();
  private readonly info = new Gauge({
    name: 'pgrunbook_run_info',
    help: 'The run being exported (value 1)',
    labelNames: ['run_id', 'runbook', 'database'],
    registers: [this.registry],
  });
  private readonly stepState = new Gauge({
    name: 'pgrunbook_step_state',
    help: 'Step state: 0 pending, 1 running, 2 completed, 3 failed, 4 skipped',
    labelNames: ['phase', 'step'],
    registers: [this.registry],
  });
  private readonly stepSeconds = new Gauge({
    name: 'pgrunbook_step_duration_seconds',
    help: 'Duration of finished steps',
    labelNames: ['phase', 'step'],
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'pgrunbook_lock_retries_total',
    help: 'Retries after lock_timeout (55P03)',
    labelNames: ['step'],
    registers: [this.registry],
  });
  private readonly gates = new Counter({
    name: 'pgrunbook_gate_decisions_total',
    help: 'Gate decisions',
    labelNames: ['step', 'approved'],
    registers: [this.registry],
  });
  private readonly waitingGate = new Gauge({
    name: 'pgrunbook_gate_waiting',
    help: '1 while a gate waits for the operator',
    registers: [this.registry],
  });
  private readonly rowsDone = new Gauge({
    name: 'pgrunbook_backfill_rows_done',
    help: 'Rows backfilled',
    labelNames: ['step'],
    registers: [this.registry],
  });
  private readonly rowsTotal = new Gauge({
    name: 'pgrunbook_backfill_rows_estimated_total',
    help: 'Estimated rows to backfill',
    labelNames: ['step'],
    registers: [this.registry],
  });
  private readonly rate = new Gauge({
    name: 'pgrunbook_backfill_rows_per_second',
    help: 'Recent backfill rate',
    labelNames: ['step'],
    registers: [this.registry],
  });
  private readonly batchSize = new Gauge({
    name: 'pgrunbook_backfill_batch_size',
    help: 'Current batch size',
    labelNames: ['step'],
    registers: [this.registry],
  });
  private readonly throttled = new Gauge({
    name: 'pgrunbook_backfill_throttled',
    help: '1 while a throttle signal holds the backfill back',
    labelNames: ['step'],
    registers: [this.registry],
  });
  private readonly indexBlocks = new Gauge({
    name: 'pgrunbook_index_build_blocks_done_ratio',
    help: 'Index build progress (blocks done / total)',
    labelNames: ['step', 'index'],
    registers: [this.registry],
  });
  private readonly running = new Gauge({ name: 'pgrunbook_run_active', help: '1 while the run is active', registers: [this.registry] });

  readonly listener = (e: RunEvent): void => {
    switch (e.type) {
      case 'run.started':
        this.info.labels(e.runId, e.runbook, e.target.database).set(1);
        this.running.set(1);
        break;
      case 'run.plan':
        for (const s of e.steps) this.stepState.labels(s.phase, s.id).set(STEP_STATE.pending);
        break;
      case 'step.started':
        this.stepState.labels(e.phase, e.stepId).set(STEP_STATE.running);
        break;
      case 'step.completed':
        this.stepState.labels(e.phase, e.stepId).set(STEP_STATE.completed);
        this.stepSeconds.labels(e.phase, e.stepId).set(e.durationMs / 1000);
        break;
      case 'step.failed':
        this.stepState.labels(e.phase, e.stepId).set(STEP_STATE.failed);
        this.stepSeconds.labels(e.phase, e.stepId).set(e.durationMs / 1000);
        break;
      case 'step.skipped':
        this.stepState.labels(e.phase, e.stepId).set(STEP_STATE.skipped);
        break;
      case 'step.retry':
        this.retries.labels(e.stepId).inc();
        break;
      case 'gate.requested':
        this.waitingGate.set(1);
        break;
      case 'gate.decided':
        this.waitingGate.set(0);
        this.gates.labels(e.request.stepId, String(e.decision.approved)).inc();
        break;
      case 'step.progress': {
        const p = e.progress;
        if (p.kind === 'backfill') {
          this.rowsDone.labels(e.stepId).set(p.rowsDone);
          if (p.rowsTotal != null) this.rowsTotal.labels(e.stepId).set(p.rowsTotal);
          this.rate.labels(e.stepId).set(p.rate);
          this.batchSize.labels(e.stepId).set(p.batchSize);
          this.throttled.labels(e.stepId).set(p.throttle ? 1 : 0);
        } else if (p.kind === 'index' && p.blocksTotal > 0) {
          this.indexBlocks.labels(e.stepId, p.index).set(p.blocksDone / p.blocksTotal);
        }
        break;
      }
      case 'step.throttle':
        this.throttled.labels(e.stepId).set(e.reason ? 1 : 0);
        break;
      case 'run.completed':
      case 'run.failed':
      case 'run.aborted':
      case 'run.interrupted':
        this.running.set(0);
        break;
    }
  };

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Serves /metrics on 127.0.0.1:port (port 0 picks a free one). */
  listen(port: number, host = '127.0.0.1'): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('try /metrics\n');
        return;
      }
      this.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}
