// OpenTelemetry through the real binary: with OTEL_EXPORTER_OTLP_ENDPOINT set, a local OTLP/HTTP
// receiver gets one trace: run -> phases -> steps, a sampled backfill batch span, and lock waits,
// retries and gate waits as span events, all tagged with the run id.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../../support/cli.js';
import { startReceiver, type Receiver } from '../../support/http-receiver.js';
import { holdReader, writeRetryRunbook } from '../../support/lock-retry-run.js';
import { useTestDatabase } from '../../support/pg.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  events?: { name: string }[];
  status?: { code?: number };
}

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-otel-'));
const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

describe('OpenTelemetry traces', () => {
  const db = useTestDatabase();
  let collector: Receiver;
  beforeAll(async () => {
    collector = await startReceiver();
    await db.query(
      'CREATE TABLE items (id bigint PRIMARY KEY, v int); INSERT INTO items SELECT g, g FROM generate_series(1, 20000) g; ANALYZE items',
    );
  });
  afterAll(() => collector.close());

  it('exports run, phase, step and batch spans with lock-wait, retry and gate events', async () => {
    const file = writeRetryRunbook(dir, 'traced', 200);
    const blocker = await holdReader(db.url, 'items');
    const cli = startCli(['run', file, '--db', db.url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', dir], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'pgrunbook-test' },
    });
    await cli.waitFor(/add: retry 1\//, 20_000).finally(() => blocker.release());
    const res = await cli.done;
    expect(res.code).toBe(0);

    const posts = collector.received.filter((r) => r.path === '/v1/traces');
    expect(posts.length).toBeGreaterThan(0);
    expect(posts[0]!.headers['content-type']).toBe('application/json');
    const bodies = posts.map((r) => JSON.parse(r.body.toString()));
    const resource = bodies[0].resourceSpans[0].resource.attributes as OtlpSpan['attributes'];
    expect(resource.find((a) => a.key === 'service.name')?.value).toEqual({ stringValue: 'pgrunbook-test' });
    const spans: OtlpSpan[] = bodies.flatMap((b) => b.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)));

    const run = spans.find((s) => s.name === 'pgrunbook run traced')!;
    expect(run).toBeDefined();
    expect(run.parentSpanId ?? '').toBe('');
    const runId = attr(run, 'pgrunbook.run_id');
    expect(res.stdout).toContain(`run ${runId} started`);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([run.traceId]));
    expect(spans.every((s) => attr(s, 'pgrunbook.run_id') === runId)).toBe(true);

    const deploy = spans.find((s) => s.name === 'phase deploy')!;
    expect(deploy.parentSpanId).toBe(run.spanId);
    const add = spans.find((s) => s.name === 'step add')!;
    const fill = spans.find((s) => s.name === 'step fill')!;
    expect([add.parentSpanId, fill.parentSpanId]).toEqual([deploy.spanId, deploy.spanId]);
    expect(attr(fill, 'pgrunbook.step_kind')).toBe('backfill');
    const events = (s: OtlpSpan) => (s.events ?? []).map((e) => e.name);
    expect(events(add)).toEqual(expect.arrayContaining(['lock wait timed out', 'retry']));
    // The gate is decided before the step starts, so its wait is an event of the phase.
    expect(events(deploy)).toEqual(expect.arrayContaining(['gate waiting', 'gate decided']));
    const batches = spans.filter((s) => s.name === 'batch fill');
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((b) => b.parentSpanId === fill.spanId)).toBe(true);
    expect(Number(attr(batches[0]!, 'pgrunbook.batch_size'))).toBeGreaterThan(0);
  });
});
