// The height budget. The live region must stay shorter than the terminal (otherwise ink clears the
// screen on every frame and scrollback fills with copies), so every section gets an exact height
// from this pure function and renders no more than that.

export interface LayoutInput {
  rows: number;
  columns: number;
  steps: number;
  /** Lines the gate prompt wants (0 when no gate is open). */
  gateLines: number;
  /** Lines the gate cannot do without (what warns); the rest of it may give way to the panels. */
  gateMinLines?: number;
  backfill: boolean;
  /** A yes/no question (abort/quit) is open. */
  dialog: boolean;
}

export interface Layout {
  /** Total live-region height (always < rows). */
  height: number;
  header: number;
  /** Steps + detail (or gate) block. */
  top: number;
  stepsWidth: number;
  backfill: number;
  /** Height of each row of the 2×2 monitor grid; 0 hides that row. */
  monitorRows: [number, number];
  log: number;
  dialog: number;
  legend: number;
  /** Too small for the panels: header, focus step, gate and legend only. */
  compact: boolean;
}

export const MIN_PANEL = 3;

export function computeLayout(i: LayoutInput): Layout {
  const height = Math.max(1, i.rows - 1);
  const compact = i.rows < 16 || i.columns < 60;
  const header = i.rows >= 22 ? 2 : 1;
  const legend = i.rows >= 6 ? 1 : 0;
  const stepsWidth = Math.min(32, Math.max(20, Math.floor(i.columns * 0.32)));
  const avail = Math.max(0, height - header - legend);
  // A question being asked comes first, then the focus pane (at least a line), then the gauge.
  const dialog = i.dialog ? Math.min(3, Math.max(0, avail - 1)) : 0;
  const backfill = i.backfill ? Math.min(compact ? 2 : 3, Math.max(0, avail - dialog - 1)) : 0;
  let rest = avail - dialog - backfill;

  if (compact) {
    return { height, header, top: rest, stepsWidth, backfill, monitorRows: [0, 0], log: 0, dialog, legend, compact };
  }

  // The step list wants one line per step plus its title; the detail pane about 7 lines; a gate more.
  const wantTop = Math.max(Math.min(i.steps + 1, 9), 7, i.gateLines);
  const log = i.dialog ? 0 : rest >= 24 ? 5 : rest >= 16 ? 3 : 2;
  rest -= log;
  // Keep the monitor rows of MIN_PANEL when possible (two beside a gate: lock waits are evidence too);
  // only what a gate must show may squeeze the panels out.
  const topMax = Math.max(4, i.gateMinLines ?? 0, rest - (i.gateLines > 0 ? 2 * MIN_PANEL : MIN_PANEL));
  const top = Math.min(wantTop, topMax, rest);
  rest -= top;
  let monitorRows: [number, number];
  if (rest >= 2 * MIN_PANEL) monitorRows = [Math.ceil(rest / 2), Math.floor(rest / 2)];
  else if (rest >= MIN_PANEL) monitorRows = [rest, 0];
  else monitorRows = [0, 0];
  const used = monitorRows[0] + monitorRows[1];
  // Give lines the grid cannot use back to the log.
  return { height, header, top, stepsWidth, backfill, monitorRows, log: log + (rest - used), dialog, legend, compact };
}
