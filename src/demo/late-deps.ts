// What the demo needs only after its first frame: the runner (and through it every step kind and
// the analyzer), the runbook loader and the monitor. Loaded while PostgreSQL starts.
export { Runner } from '../engine/runner.js';
export { loadRunbookFile } from '../runbook/load.js';
export { Monitor } from '../monitor/monitor-poller.js';
