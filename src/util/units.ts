// Unit formatters every layer shares (durations, one-line text), so the TUI, the plain renderer,
// reports and the monitor word the same figure the same way. Pure and cheap: the TUI calls them per frame.

/** Seconds -> "850ms", "12s", "4m05s", "2h03m". */
export function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

export function fmtMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : fmtSeconds(ms / 1000);
}

/** One line: collapses whitespace, cuts to `width` with an ellipsis. */
export function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (width <= 0) return '';
  return flat.length <= width ? flat : `${flat.slice(0, Math.max(0, width - 1))}…`;
}
