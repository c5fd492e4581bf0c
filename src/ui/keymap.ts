// THE keymap: every key the TUI understands, in one table. Input hooks resolve keys through
// `matchAction`, the legend line and the help overlay (`?`) are generated from the same table, so
// what the help says is what the keys do.
import type { Key } from 'ink';

export type KeyContext = 'always' | 'main' | 'gate' | 'typeGate' | 'dialog' | 'pager' | 'help';

export type Action =
  | 'interrupt'
  | 'help'
  | 'togglePause'
  | 'batchUp'
  | 'batchDown'
  | 'pauseDown'
  | 'pauseUp'
  | 'freeze'
  | 'log'
  | 'abort'
  | 'quit'
  | 'cancelOwn'
  | 'gate.yes'
  | 'gate.no'
  | 'gate.choice'
  | 'gate.expand'
  | 'gate.scrollUp'
  | 'gate.scrollDown'
  | 'type.submit'
  | 'type.cancel'
  | 'type.erase'
  | 'dialog.yes'
  | 'dialog.no'
  | 'pager.up'
  | 'pager.down'
  | 'pager.pageUp'
  | 'pager.pageDown'
  | 'pager.top'
  | 'pager.follow'
  | 'pager.close'
  | 'help.close';

type KeyFlag = 'tab' | 'return' | 'escape' | 'upArrow' | 'downArrow' | 'pageUp' | 'pageDown' | 'backspace' | 'delete' | 'home' | 'end';

export interface KeySpec {
  /** The character(s) ink reports as `input`. */
  input?: string;
  /** A named key flag from ink's Key. */
  flag?: KeyFlag;
  ctrl?: boolean;
  /** Any printable single digit 1-9 (choices at a gate). */
  digit?: true;
  /** Any key at all (closes the help). */
  any?: true;
}

export interface Binding {
  action: Action;
  context: KeyContext;
  keys: KeySpec[];
  /** How the key is written in the help and legend. */
  label: string;
  help: string;
  /** Short word for the one-line legend (main context only). */
  legend?: string;
  /** Help text for the row that shows this binding together with its pair (+ / -). */
  pairHelp?: string;
}

export const KEYMAP: readonly Binding[] = [
  { action: 'interrupt', context: 'always', keys: [{ input: 'c', ctrl: true }], label: 'Ctrl+C', help: 'quit now, resumable' },

  { action: 'togglePause', context: 'main', keys: [{ input: 'p' }], label: 'p', help: 'pause / resume the step', legend: 'pause' },
  {
    action: 'batchUp',
    context: 'main',
    keys: [{ input: '+' }, { input: '=' }],
    label: '+',
    help: 'larger batches (×1.5)',
    legend: 'batch',
    pairHelp: 'batch size ×1.5 / ÷1.5',
  },
  { action: 'batchDown', context: 'main', keys: [{ input: '-' }, { input: '_' }], label: '-', help: 'smaller batches (÷1.5)' },
  {
    action: 'pauseDown',
    context: 'main',
    keys: [{ input: '[' }],
    label: '[',
    help: 'shorter pause between batches',
    legend: 'sleep',
    pairHelp: 'pause between batches -/+',
  },
  { action: 'pauseUp', context: 'main', keys: [{ input: ']' }], label: ']', help: 'longer pause between batches' },
  { action: 'freeze', context: 'main', keys: [{ input: ' ' }], label: 'space', help: 'freeze / thaw the panels', legend: 'freeze' },
  { action: 'log', context: 'main', keys: [{ input: 'l' }], label: 'l', help: 'log pager (follows end)', legend: 'log' },
  { action: 'cancelOwn', context: 'main', keys: [{ input: 'c' }], label: 'c', help: 'cancel our waiting DDL' },
  { action: 'abort', context: 'main', keys: [{ input: 'a' }], label: 'a', help: 'abort the run (asks)', legend: 'abort' },
  { action: 'quit', context: 'main', keys: [{ input: 'q' }], label: 'q', help: 'quit; run stays resumable', legend: 'quit' },
  { action: 'help', context: 'main', keys: [{ input: '?' }, { input: 'h' }], label: '? h', help: 'this help', legend: 'help' },

  { action: 'gate.yes', context: 'gate', keys: [{ input: 'y' }, { input: 'Y' }], label: 'y', help: 'approve' },
  {
    action: 'gate.no',
    context: 'gate',
    keys: [{ input: 'n' }, { input: 'N' }, { flag: 'return' }, { flag: 'escape' }],
    label: 'n Enter Esc',
    help: 'decline (the default)',
  },
  { action: 'gate.choice', context: 'gate', keys: [{ digit: true }], label: '1-9', help: 'pick one of the options' },
  {
    action: 'gate.expand',
    context: 'gate',
    keys: [{ input: 'w' }, { flag: 'tab' }],
    label: 'w Tab',
    help: 'the whole text (why, evidence); again: back',
  },
  {
    action: 'gate.scrollUp',
    context: 'gate',
    keys: [{ flag: 'upArrow' }],
    label: '↑',
    help: 'scroll the whole text up',
    pairHelp: 'scroll the whole text',
  },
  { action: 'gate.scrollDown', context: 'gate', keys: [{ flag: 'downArrow' }], label: '↓', help: 'scroll the whole text down' },
  { action: 'type.submit', context: 'typeGate', keys: [{ flag: 'return' }], label: 'Enter', help: 'approve once it matches' },
  {
    action: 'type.erase',
    context: 'typeGate',
    keys: [{ flag: 'backspace' }, { flag: 'delete' }],
    label: 'Backspace',
    help: 'erase a character',
  },
  { action: 'gate.expand', context: 'typeGate', keys: [{ flag: 'tab' }], label: 'Tab', help: 'the whole text; again: back' },
  {
    action: 'gate.scrollUp',
    context: 'typeGate',
    keys: [{ flag: 'upArrow' }],
    label: '↑',
    help: 'scroll the whole text up',
    pairHelp: 'scroll the whole text',
  },
  { action: 'gate.scrollDown', context: 'typeGate', keys: [{ flag: 'downArrow' }], label: '↓', help: 'scroll the whole text down' },
  { action: 'type.cancel', context: 'typeGate', keys: [{ flag: 'escape' }], label: 'Esc', help: 'decline' },

  { action: 'dialog.yes', context: 'dialog', keys: [{ input: 'y' }, { input: 'Y' }], label: 'y', help: 'yes' },
  {
    action: 'dialog.no',
    context: 'dialog',
    keys: [{ input: 'n' }, { input: 'N' }, { flag: 'return' }, { flag: 'escape' }],
    label: 'n Enter Esc',
    help: 'no (the default)',
  },

  { action: 'pager.up', context: 'pager', keys: [{ flag: 'upArrow' }, { input: 'k' }], label: '↑ k', help: 'scroll up (stops follow)' },
  { action: 'pager.down', context: 'pager', keys: [{ flag: 'downArrow' }, { input: 'j' }], label: '↓ j', help: 'scroll down' },
  { action: 'pager.pageUp', context: 'pager', keys: [{ flag: 'pageUp' }, { input: 'b' }], label: 'PgUp b', help: 'page up' },
  { action: 'pager.pageDown', context: 'pager', keys: [{ flag: 'pageDown' }, { input: ' ' }], label: 'PgDn space', help: 'page down' },
  { action: 'pager.top', context: 'pager', keys: [{ flag: 'home' }, { input: 'g' }], label: 'Home g', help: 'oldest line' },
  {
    action: 'pager.follow',
    context: 'pager',
    keys: [{ flag: 'end' }, { input: 'G' }, { input: 'f' }],
    label: 'End G f',
    help: 'the end; follow again',
  },
  {
    action: 'pager.close',
    context: 'pager',
    keys: [{ input: 'l' }, { input: 'q' }, { flag: 'escape' }],
    label: 'l q Esc',
    help: 'close the pager',
  },

  { action: 'help.close', context: 'help', keys: [{ any: true }], label: 'any key', help: 'close the help' },
];

function matches(spec: KeySpec, input: string, key: Key): boolean {
  if (spec.any) return true;
  if (spec.ctrl && !key.ctrl) return false;
  if (!spec.ctrl && key.ctrl) return false;
  if (spec.flag) return key[spec.flag] === true;
  if (spec.digit) return /^[1-9]$/.test(input);
  return spec.input !== undefined && input === spec.input;
}

/** Resolves a key press in a context; `always` bindings win everywhere. */
export function matchAction(context: Exclude<KeyContext, 'always'>, input: string, key: Key): Action | undefined {
  for (const b of KEYMAP) {
    if (b.context === 'always' && b.keys.some((k) => matches(k, input, key))) return b.action;
  }
  for (const b of KEYMAP) {
    if (b.context === context && b.keys.some((k) => matches(k, input, key))) return b.action;
  }
  return undefined;
}

export const CONTEXT_TITLES: Record<KeyContext, string> = {
  always: 'Anywhere',
  main: 'Run',
  gate: 'Confirm gate (run keys work)',
  typeGate: 'Type gate (type the name)',
  dialog: 'Yes/no question',
  pager: 'Log pager',
  help: 'In this help',
};

export interface HelpSection {
  title: string;
  rows: { keys: string; help: string }[];
}

/** The help overlay's content, generated from KEYMAP. */
export function helpSections(): HelpSection[] {
  const order: KeyContext[] = ['main', 'always', 'gate', 'typeGate', 'dialog', 'pager'];
  return order.map((ctx) => ({
    title: CONTEXT_TITLES[ctx],
    rows: mergePairs(KEYMAP.filter((b) => b.context === ctx)),
  }));
}

// "+" and "-" (and "[" / "]") read better as one row.
const PAIRS: [Action, Action][] = [
  ['batchUp', 'batchDown'],
  ['pauseDown', 'pauseUp'],
  ['gate.scrollUp', 'gate.scrollDown'],
];

function mergePairs(bs: Binding[]): { keys: string; help: string }[] {
  const rows: { keys: string; help: string }[] = [];
  const skip = new Set<Action>();
  for (const b of bs) {
    if (skip.has(b.action)) continue;
    const pair = PAIRS.find((p) => p[0] === b.action);
    const other = pair ? bs.find((x) => x.action === pair[1]) : undefined;
    if (other) {
      skip.add(other.action);
      rows.push({ keys: `${b.label} ${other.label}`, help: b.pairHelp ?? `${b.help}; ${other.help}` });
    } else rows.push({ keys: b.label, help: b.help });
  }
  return rows;
}

/** The one-line key legend under the log: "p pause  +/- batch  [/] sleep  …". */
export function legendItems(): { keys: string; word: string }[] {
  const items: { keys: string; word: string }[] = [];
  for (const b of KEYMAP) {
    if (b.context !== 'main' || !b.legend) continue;
    const pair = PAIRS.find((p) => p[0] === b.action);
    const other = pair ? KEYMAP.find((x) => x.action === pair[1]) : undefined;
    const first = (l: string) => l.split(' ')[0]!;
    items.push({ keys: other ? `${first(b.label)}/${first(other.label)}` : first(b.label), word: b.legend });
  }
  return items;
}
