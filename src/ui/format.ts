// Small, pure formatters for terminal cells. Everything here must stay cheap: it runs on every frame.

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 1234567 -> "1.23M", 51234 -> "51.2k". */
export function fmtCompact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function clip(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Wraps plain text into at most `maxLines` lines of `width`, the last one ellipsised when cut. */
export function wrapLines(text: string, width: number, maxLines: number): string[] {
  if (width <= 0 || maxLines <= 0) return [];
  const out: string[] = [];
  for (const para of text.split('\n')) {
    const words = para.split(/\s+/).filter(Boolean);
    let line = '';
    for (const w of words) {
      if (!line) line = w;
      else if (line.length + 1 + w.length <= width) line += ` ${w}`;
      else {
        out.push(line);
        line = w;
      }
      while (line.length > width) {
        out.push(line.slice(0, width));
        line = line.slice(width);
      }
    }
    out.push(line);
  }
  if (out.length <= maxLines) return out;
  const kept = out.slice(0, maxLines);
  kept[maxLines - 1] = clip(`${kept[maxLines - 1]} …`, width);
  return kept;
}

/** A text gauge: "██████░░░░" (or "######----" when `ascii`). */
export function gauge(fraction: number, width: number, ascii = false): string {
  const w = Math.max(0, width);
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * w);
  return (ascii ? '#' : '█').repeat(full) + (ascii ? '-' : '░').repeat(w - full);
}
