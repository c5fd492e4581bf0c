// Traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set. The
// exporter reads the standard OTEL_* variables itself (endpoint, headers, timeout). This module
// is imported only when tracing is on, so a run without it loads none of the SDK.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Listener } from '../../engine/events.js';
import { TraceListener } from './trace-listener.js';

export function startTracing(
  version: string,
  env: NodeJS.ProcessEnv = process.env,
): { listener: Listener; close(ms: number): Promise<void> } {
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'pgrunbook', 'service.version': version }),
    ),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  const traces = new TraceListener(provider.getTracer('pgrunbook', version));
  return {
    listener: traces.listener,
    // The collector being down must not hold up the exit: flush for a bounded time.
    close: async (ms) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([provider.shutdown().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
      clearTimeout(timer);
    },
  };
}
