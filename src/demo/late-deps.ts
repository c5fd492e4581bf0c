// What the demo needs only after its first frame: the runbook loader. Loaded while PostgreSQL
// starts, as are the step kinds and the runner (DemoOptions.compose); the run wiring loads the monitor.
export { loadRunbookFile } from '../runbook/load.js';
