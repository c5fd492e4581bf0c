// Shared bits of the four monitor panels (Locks, Long queries, Replication, Index build): the props
// they take, a tiny theme (the only place a colour name appears), and a line made of styled segments
// that is cut to the panel width before ink sees it, so no panel ever wraps.
import type React from 'react';
import { Text } from 'ink';
import type { MonitorSample } from '../../monitor/monitor-types.js';

export interface MonitorPanelProps {
  sample: MonitorSample;
  /** Columns the panel may use; every line is cut to this. */
  width: number;
  /** Lines the panel may use, its title included (at least 1). */
  height: number;
  /** false = no colours at all (NO_COLOR); default true (chalk's level still applies). */
  color?: boolean;
}

export type Tone = 'ours' | 'bad' | 'warn' | 'ok' | 'dim' | 'strong';

const THEME: Record<Tone, { color?: string; dimColor?: boolean; bold?: boolean }> = {
  ours: { color: 'cyan', bold: true },
  bad: { color: 'red' },
  warn: { color: 'yellow' },
  ok: { color: 'green' },
  dim: { dimColor: true },
  strong: { bold: true },
};

/** Ink text props for a tone; with colour off only bold survives (it is not a colour). */
export function toneProps(color: boolean | undefined, tone: Tone | undefined): { color?: string; dimColor?: boolean; bold?: boolean } {
  if (!tone) return {};
  const t = THEME[tone];
  if (color === false) return t.bold ? { bold: true } : {};
  return t;
}

export interface Seg {
  text: string;
  tone?: Tone;
}

/** Cuts segments to `width` characters in total, with an ellipsis where text was cut. */
export function fitSegs(segs: Seg[], width: number): Seg[] {
  const out: Seg[] = [];
  let left = width;
  for (const s of segs) {
    if (left <= 0) break;
    // Newlines and tabs would break the one-row promise; runs of spaces are alignment, keep them.
    const text = s.text.replace(/[\r\n\t]+/g, ' ');
    if (text.length <= left) {
      out.push({ ...s, text });
      left -= text.length;
    } else {
      out.push({ ...s, text: `${text.slice(0, Math.max(0, left - 1))}…` });
      left = 0;
    }
  }
  return out;
}

export function SegLine(props: { segs: Seg[]; width: number; color?: boolean }): React.JSX.Element {
  const segs = fitSegs(props.segs, props.width);
  return (
    <Text wrap="truncate">
      {segs.length === 0
        ? ' '
        : segs.map((s, i) => (
            <Text key={i} {...toneProps(props.color, s.tone)}>
              {s.text}
            </Text>
          ))}
    </Text>
  );
}

/** "── Title · extra ────": one row, no border columns. */
export function PanelTitle(props: { title: string; extra?: string; width: number; color?: boolean; tone?: Tone }): React.JSX.Element {
  const head = fitSegs([{ text: `── ${props.title}${props.extra ? ` · ${props.extra}` : ''} ` }], props.width)[0]?.text ?? '';
  const style = { ...toneProps(props.color, 'strong'), ...toneProps(props.color, props.tone) };
  return (
    <Text wrap="truncate">
      <Text {...style}>{head}</Text>
      <Text {...toneProps(props.color, 'dim')}>{'─'.repeat(Math.max(0, props.width - head.length))}</Text>
    </Text>
  );
}

/** Fills the body: rows that fit, or the first ones plus "… N more". */
export function clipRows(rows: Seg[][], room: number, more: (n: number) => Seg[]): Seg[][] {
  if (room <= 0) return [];
  if (rows.length <= room) return rows;
  return [...rows.slice(0, Math.max(0, room - 1)), more(rows.length - Math.max(0, room - 1))];
}

export function gaugeBar(fraction: number, width: number): string {
  const w = Math.max(0, width);
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * w);
  return '█'.repeat(full) + '░'.repeat(w - full);
}

/** The note of a probe this panel depends on, when it is off in this sample. */
export function unavailableNote(sample: MonitorSample, part: string, labelStart: string): string | undefined {
  if (!(sample.unavailable ?? []).includes(part)) return undefined;
  return sample.notes.find((n) => n.startsWith(labelStart)) ?? `${part} unavailable`;
}

/** A note word-wrapped over up to `maxLines` rows of `width` (the last one cut with an ellipsis). */
export function noteRows(text: string, width: number, maxLines: number, tone: Tone = 'warn'): Seg[][] {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!cur) cur = word;
    else if (cur.length + 1 + word.length <= width) cur += ` ${word}`;
    else {
      out.push(cur);
      cur = word;
    }
  }
  if (cur) out.push(cur);
  const shown = out.slice(0, Math.max(1, maxLines));
  if (out.length > shown.length) shown[shown.length - 1] = `${shown[shown.length - 1]} ${out.slice(shown.length).join(' ')}`;
  return shown.map((line) => [{ text: line, tone }]);
}
