// Unit formatters every layer shares (bytes, durations, one-line text), so the TUI, the plain renderer,
// reports and the monitor word the same figure the same way. Pure and cheap: the TUI calls them per frame.

/** Binary units: 0 B, 1.50 kB, 10.0 MB, 512 MB; '-' when unknown. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${units[i]}`;
}

/** Compact: 850ms, 12.3s, 4m05s, 2h10m, 3d04h. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '-';
  if (s < 0) s = 0;
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 10) return `${s.toFixed(1).replace(/\.0$/, '')}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(Math.floor(s % 60))}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

/** Milliseconds in the same compact form as formatSeconds. */
export function formatMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : formatSeconds(ms / 1000);
}

/** A byte rate in MB/s (MiB), one decimal under 10. */
export function formatMbps(bytesPerSec: number): string {
  return `${(bytesPerSec / 1024 ** 2).toFixed(bytesPerSec < 10 * 1024 ** 2 ? 1 : 0)} MB/s`;
}

/** A host percentage: one decimal under 10 (7.5%), whole above (93%). */
export function formatPercent(v: number): string {
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}%`;
}

/** One line, at most `max` characters, with an ellipsis when cut. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (max <= 0) return '';
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}
