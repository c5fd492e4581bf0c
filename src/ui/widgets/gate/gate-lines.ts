// What a gate says, as plain lines budgeted to the pane (pure, so it is cheap and easy to test).
// Nothing that warns is ever cut: what approving does, the locks and their effect, and failing
// evidence wrap in full. The why and passing evidence give way first, with a pointer to the key
// that shows everything (the expanded view scrolls).
import type { PlannedStepDetail } from '../../../engine/events.js';
import type { Evidence, GateRequest } from '../../../engine/gates.js';
import { lockEntries, lockEntryText } from '../../../render/lock-words.js';
import { wrapLines } from '../../format.js';

export interface GateLine {
  /** Five-character label column ("will", "lock", "why"), blank on continuation lines. */
  label?: string;
  text: string;
  mark?: { mark: string; color?: string };
  color?: string;
  bold?: boolean;
  dim?: boolean;
}

const LABEL = 6;
const MAX_EVIDENCE = 6;

export function evidenceMark(ok: boolean | undefined): { mark: string; color?: string } {
  return ok === true ? { mark: '✓', color: 'green' } : ok === false ? { mark: '✗', color: 'red' } : { mark: '•' };
}

function labelled(label: string, text: string, width: number, extra: Omit<GateLine, 'label' | 'text'> = {}): GateLine[] {
  return wrapLines(text, Math.max(10, width - LABEL), Number.POSITIVE_INFINITY).map((t, i) => ({
    ...extra,
    label: i === 0 ? label : '',
    text: t,
  }));
}

function lockLines(req: GateRequest, detail: PlannedStepDetail | undefined, width: number): GateLine[] {
  return lockEntries(req, detail).flatMap((e, i) => {
    return labelled(i === 0 ? 'lock' : '', lockEntryText(e), width, e.mode === 'AccessExclusiveLock' ? { color: 'yellow' } : {});
  });
}

function evidenceLines(e: Evidence, width: number, full: boolean): GateLine[] {
  const text = `${e.label}: ${String(e.value)}${e.detail ? ` (${e.detail})` : ''}`;
  // Failing evidence always in full; the rest in full when expanded, else on one line.
  const lines = wrapLines(text, Math.max(10, width - 2), full || e.ok === false ? Number.POSITIVE_INFINITY : 1);
  return lines.map((t, i) => (i === 0 ? { text: t, mark: evidenceMark(e.ok) } : { text: `  ${t}` }));
}

export interface GateText {
  /** Lines above the why: title, what approving does, the locks. */
  head: GateLine[];
  why: GateLine[];
  evidence: GateLine[][];
}

export function gateText(req: GateRequest, detail: PlannedStepDetail | undefined, width: number, full: boolean): GateText {
  const head: GateLine[] = [
    ...wrapLines(req.title, width, full ? Number.POSITIVE_INFINITY : 1).map((t) => ({ text: t, bold: true })),
    ...labelled('will', req.action, width),
    ...lockLines(req, detail, width),
  ];
  const why = detail?.why ? labelled('why', detail.why, width, { dim: false }) : [];
  const evidence = req.evidence.map((e) => evidenceLines(e, width, full));
  return { head, why, evidence };
}

/** The natural height of the gate's text (no squeezing), for the layout's budget. */
export function gateTextHeight(req: GateRequest, detail: PlannedStepDetail | undefined, width: number): number {
  const t = gateText(req, detail, width, false);
  const ev = t.evidence.slice(0, MAX_EVIDENCE).reduce((n, e) => n + e.length, 0) + (t.evidence.length > MAX_EVIDENCE ? 1 : 0);
  return t.head.length + t.why.length + Math.max(1, ev);
}

/** What must show: the head, failing evidence, and two lines of the why (with the hint that more exists). */
export function gateMustHeight(req: GateRequest, detail: PlannedStepDetail | undefined, width: number): number {
  const t = gateText(req, detail, width, false);
  const failing = t.evidence.filter((e) => e[0]?.mark?.mark === '✗').reduce((n, e) => n + e.length, 0);
  return t.head.length + failing + Math.min(2, t.why.length);
}

/**
 * The collapsed view in `rows` lines: head and failing evidence whole, then as much of the why and
 * the other evidence as fits. `cut` says whether anything was left out (then the key hint shows).
 */
export function fitGateText(t: GateText, rows: number, width: number, expandKey: string): { lines: GateLine[]; cut: boolean } {
  const failing = t.evidence.filter((e) => e[0]?.mark?.mark === '✗');
  const others = t.evidence.filter((e) => e[0]?.mark?.mark !== '✗');
  const must = t.head.length + failing.reduce((n, e) => n + e.length, 0);
  let room = Math.max(0, rows - must);
  const shownOthers: GateLine[][] = [];
  for (const e of others.slice(0, MAX_EVIDENCE)) {
    // Keep two lines for the why when there is one.
    if (e.length > room - Math.min(2, t.why.length)) break;
    shownOthers.push(e);
    room -= e.length;
  }
  let why = t.why;
  const hidden = others.length - shownOthers.length;
  const cut = hidden > 0 || t.why.length > room;
  if (t.why.length > room) {
    why = t.why.slice(0, Math.max(0, room));
    if (why.length > 0) {
      const last = why[why.length - 1]!;
      const hint = ` … (${expandKey}: all)`;
      why[why.length - 1] = { ...last, text: `${last.text.slice(0, Math.max(0, width - LABEL - hint.length))}${hint}` };
    }
  }
  const ev = [...failing, ...shownOthers].flat();
  if (t.evidence.length === 0 && room - why.length > 0) ev.push({ text: 'no evidence for this gate', dim: true });
  if (hidden > 0 && room - why.length > 0) ev.push({ text: `… ${hidden} more (${expandKey} shows all)`, dim: true });
  return { lines: [...t.head, ...why, ...ev], cut };
}

/** Every line, for the expanded (scrolling) view. */
export function allGateText(t: GateText): GateLine[] {
  return [...t.head, ...t.why, ...(t.evidence.length ? t.evidence.flat() : [{ text: 'no evidence for this gate', dim: true }])];
}
