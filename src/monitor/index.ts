// The monitor's public surface (headless: no React or Ink here). UI code renders MonitorSample.
export { Monitor, createMonitorPool, DEFAULT_INTERVAL_MS, DEFAULT_LONG_QUERY_SECONDS, MONITOR_SESSION_SETTINGS, type MonitorOptions } from './monitor-poller.js';
export { cancelOwnStatement, cancellableSession, type CancelResult } from './cancel.js';
export { metricsSnapshot, type MetricsSnapshot } from './snapshot.js';
export { lockForest, type LockNode } from './lock-tree.js';
export { checkThresholds, uncheckable, type Breach, type WatchLimits } from './thresholds.js';
export { formatSampleLine } from './monitor-text.js';
export { formatBytes, formatSeconds, parseBytes, parseDuration } from './units.js';
export { MONITOR_APP, OWN_APP_PREFIX, isOurs } from './sessions.js';
export type * from './monitor-types.js';
