// Durations and sizes as operators write them (5m, 500ms, 10MB); printing them is src/util/units.ts.

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** "1s", "500ms", "5m", "1h30m", "1.5s" -> ms. A bare number is refused: units avoid ms/s mix-ups. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (text === 0) return 0;
    throw new Error(`duration ${text} needs a unit (e.g. 500ms, 30s, 5m, 1h)`);
  }
  const s = text.trim().toLowerCase();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
    while (s[pos] === ' ') pos++;
    re.lastIndex = pos;
  }
  if (pos === 0 || pos !== s.length) throw new Error(`"${text}" is not a duration (e.g. 500ms, 30s, 5m, 1h)`);
  return Math.round(total);
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** "10MB", "512kB", "1.5 GB", or a number of bytes -> bytes. 1024-based, like pg_size_bytes(). */
export function parseBytes(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`size ${text} must be a non-negative number of bytes`);
    return Math.round(text);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = (m?.[2] || 'b').toLowerCase();
  if (!m || !(unit in SIZE_UNITS)) throw new Error(`"${text}" is not a size (e.g. 512kB, 10MB, 1GB)`);
  return Math.round(Number(m[1]) * SIZE_UNITS[unit]!);
}
