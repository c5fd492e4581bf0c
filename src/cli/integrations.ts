// Integrations that listen to a run: webhooks (--notify / settings.notify) and OpenTelemetry traces
// (the standard OTEL_* variables). Each loads only when switched on, so a run without them pays nothing.
import type { EventBus } from '../engine/events.js';
import type { Runbook } from '../runbook/model.js';
import { redact } from '../util/secrets.js';

export interface IntegrationOptions {
  runbook: Runbook;
  /** `--notify` values, as given. */
  notify?: string[];
  /** Where problems of an integration are told (once each); never fails the run. */
  report(message: string): void;
}

export interface AttachedIntegrations {
  /** Flushes what is in flight for a bounded time. */
  close(): Promise<void>;
}

export async function attachIntegrations(bus: EventBus, opts: IntegrationOptions): Promise<AttachedIntegrations> {
  const closers: (() => Promise<void>)[] = [];
  const fromRunbook = opts.runbook.integrations?.notify ?? [];
  if (opts.notify?.length || fromRunbook.length) {
    const { parseNotifyArg, targetsFromSettings } = await import('../integrations/notify/notify-targets.js');
    const { Notifier } = await import('../integrations/notify/notifier.js');
    const targets = [...(opts.notify ?? []).map((a) => parseNotifyArg(a)), ...targetsFromSettings(fromRunbook)];
    const notifier = new Notifier(targets, {
      throttleNoticeMs: opts.runbook.integrations?.notifyThrottledAfterMs,
      report: (m) => opts.report(redact(m)),
    });
    bus.on(notifier.listener);
    closers.push(() => notifier.close());
  }
  if (tracingConfigured()) {
    const { startTracing } = await import('../integrations/otel/otel-setup.js');
    const tracing = startTracing('0.1.0');
    bus.on(tracing.listener);
    closers.push(() => tracing.close(5000));
  }
  return { close: async () => void (await Promise.all(closers.map((c) => c()))) };
}

/** OTEL_SDK_DISABLED=true switches tracing off even with an endpoint set (the OTel convention). */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== 'true';
}
