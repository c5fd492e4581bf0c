// What the demo needs only after its first frame: the runbook loader and the monitor. Loaded while
// PostgreSQL starts, as are the step kinds and the runner (DemoOptions.compose).
export { loadRunbookFile } from '../runbook/load.js';
export { Monitor } from '../monitor/monitor-poller.js';
