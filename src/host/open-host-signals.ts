// The one place that turns the CLI's --node-exporter / --prometheus options into a HostSignals.
import type { Clock } from '../util/clock.js';
import type { HostSignals } from '../engine/ports.js';
import { NodeExporterSignals } from './node-exporter.js';
import { PrometheusSignals } from './prometheus-signals.js';

export interface HostEndpoints {
  nodeExporter?: string;
  prometheus?: string;
  prometheusInstance?: string;
}

/** Prometheus when given (it keeps history and rates), else node_exporter, else none. */
export function openHostSignals(e: HostEndpoints, clock: Clock): HostSignals | undefined {
  if (e.prometheus)
    return new PrometheusSignals({ url: e.prometheus, ...(e.prometheusInstance ? { instance: e.prometheusInstance } : {}) });
  if (e.nodeExporter) return new NodeExporterSignals(e.nodeExporter, clock);
  return undefined;
}
