// Events -> OpenTelemetry spans: one per run, phase and step, a sampled one per backfill batch;
// lock waits, retries, throttles and gate waits become span events. Pure API (@opentelemetry/api):
// the SDK and exporter are wired in otel-setup.ts.
import { context, trace, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { RunEvent } from '../../engine/events.js';
import { redact } from '../../util/secrets.js';

/** At most one batch span per step in this interval. */
const BATCH_SAMPLE_MS = 1000;

export class TraceListener {
  private run: Span | undefined;
  private readonly phases = new Map<string, Span>();
  private readonly steps = new Map<string, Span>();
  private readonly lastBatch = new Map<string, number>();
  private runId = '';

  constructor(private readonly tracer: Tracer) {}

  readonly listener = (e: RunEvent): void => {
    const at = Date.parse(e.at);
    switch (e.type) {
      case 'run.started':
        this.startRun(e, at);
        break;
      case 'phase.started':
        this.phases.set(e.phase, this.child(this.run, `phase ${e.phase}`, at, { 'pgrunbook.phase': e.phase }));
        break;
      case 'phase.completed':
        this.end(this.phases, e.phase, at);
        break;
      case 'step.started':
        this.steps.set(
          e.stepId,
          this.child(this.phases.get(e.phase) ?? this.run, `step ${e.stepId}`, at, {
            'pgrunbook.step': e.stepId,
            'pgrunbook.step_kind': e.kind,
            'pgrunbook.attempt': e.attempt,
          }),
        );
        break;
      case 'step.completed':
        this.end(this.steps, e.stepId, at);
        break;
      case 'step.failed':
        this.end(this.steps, e.stepId, at, redact(e.error));
        break;
      case 'step.progress':
        if (e.progress.kind === 'backfill') this.batch(e.stepId, at, e.progress);
        break;
      case 'run.completed':
        this.finish(at);
        break;
      case 'run.failed':
        this.finish(at, redact(e.error));
        break;
      case 'run.aborted':
      case 'run.interrupted':
        this.finish(at, redact(e.reason));
        break;
      default:
        this.stepEvent(e, at);
    }
  };

  private startRun(e: Extract<RunEvent, { type: 'run.started' }>, at: number): void {
    this.runId = e.runId;
    this.run = this.tracer.startSpan(`pgrunbook run ${e.runbook}`, {
      startTime: at,
      attributes: {
        'pgrunbook.run_id': e.runId,
        'pgrunbook.runbook': e.runbook,
        'pgrunbook.resumed': e.resumed,
        'db.system.name': 'postgresql',
        'db.namespace': e.target.database,
        'server.address': e.target.host,
        'server.port': e.target.port,
      },
    });
  }

  /** What happens within a step without ending it: skips, lock-wait timeouts, retries, throttles, gates. */
  private stepEvent(e: RunEvent, at: number): void {
    switch (e.type) {
      case 'step.skipped':
        this.event(e.stepId, 'skipped', at, { reason: e.reason });
        break;
      case 'step.sql':
        if (e.sqlstate === '55P03')
          this.event(e.stepId, 'lock wait timed out', at, { 'pgrunbook.wait_ms': e.durationMs, 'db.response.status_code': e.sqlstate });
        break;
      case 'step.retry':
        this.event(e.stepId, 'retry', at, {
          'pgrunbook.attempt': e.attempt,
          'pgrunbook.of': e.of,
          'pgrunbook.delay_ms': e.delayMs,
          reason: e.reason,
        });
        break;
      case 'step.throttle':
        this.event(
          e.stepId,
          e.reason ? 'throttled' : 'throttle released',
          at,
          e.reason ? { reason: e.reason, detail: e.detail ?? '' } : {},
        );
        break;
      case 'gate.requested':
        this.event(e.request.stepId, 'gate waiting', at, { 'pgrunbook.gate': e.request.level, title: e.request.title });
        break;
      case 'gate.decided':
        this.event(e.request.stepId, 'gate decided', at, { 'pgrunbook.approved': e.decision.approved, 'pgrunbook.by': e.decision.by });
        break;
    }
  }

  private child(parent: Span | undefined, name: string, startTime: number, attributes: Record<string, string | number | boolean>): Span {
    const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
    return this.tracer.startSpan(name, { startTime, attributes: { 'pgrunbook.run_id': this.runId, ...attributes } }, ctx);
  }

  private event(stepId: string, name: string, at: number, attributes: Record<string, string | number | boolean>): void {
    // A step's gate comes before the step starts: its events go on the phase then.
    const phase = [...this.phases.values()].at(-1);
    (this.steps.get(stepId) ?? phase ?? this.run)?.addEvent(name, { 'pgrunbook.step': stepId, ...attributes }, at);
  }

  /** The latest batch as its own span (ending now, lasting lastBatchMs), at most once a second. */
  private batch(
    stepId: string,
    at: number,
    p: { lastBatchMs: number; batchSize: number; rowsDone: number; batches: number; pass: string },
  ): void {
    if (at - (this.lastBatch.get(stepId) ?? -Infinity) < BATCH_SAMPLE_MS || p.batches === 0) return;
    this.lastBatch.set(stepId, at);
    const span = this.child(this.steps.get(stepId) ?? this.run, `batch ${stepId}`, at - p.lastBatchMs, {
      'pgrunbook.step': stepId,
      'pgrunbook.batch_size': p.batchSize,
      'pgrunbook.batches': p.batches,
      'pgrunbook.rows_done': p.rowsDone,
      'pgrunbook.pass': p.pass,
    });
    span.end(at);
  }

  private end(spans: Map<string, Span>, key: string, at: number, error?: string): void {
    const span = spans.get(key);
    if (!span) return;
    spans.delete(key);
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end(at);
  }

  private finish(at: number, error?: string): void {
    for (const k of [...this.steps.keys()]) this.end(this.steps, k, at, error ?? 'run ended');
    for (const k of [...this.phases.keys()]) this.end(this.phases, k, at, error);
    if (!this.run) return;
    if (error !== undefined) this.run.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.run.end(at);
    this.run = undefined;
  }
}
