// The swap_table step split into its phases from the runner's events (the executor's step.sql
// events carry each statement's duration and end; the copy and verify are bounded by the step's
// log and evidence), and the workload's transactions set against them: which phase the slow ones
// overlapped. pgbench logs each transaction's completion time and latency (from its scheduled start
// under --rate), so a transaction spans [end - latency, end].
import type { RunEvent } from '../../src/engine/events.js';

export interface Tx {
  /** Completion, epoch ms. */
  at: number;
  /** Latency, ms (NaN: failed). */
  ms: number;
}

export interface Phase {
  name: string;
  from: number;
  to: number;
  /** What else is worth saying: the statements' own times, retries. */
  note?: string;
}

const time = (e: RunEvent) => Date.parse(e.at);
type Sql = Extract<RunEvent, { type: 'step.sql' }>;

/** Statement windows: [end - duration, end]. */
const span = (e: Sql) => ({ from: time(e) - e.durationMs, to: time(e) });

function window(name: string, xs: Sql[], note?: string): Phase | undefined {
  if (xs.length === 0) return undefined;
  return { name, from: Math.min(...xs.map((x) => span(x).from)), to: Math.max(...xs.map((x) => span(x).to)), ...(note ? { note } : {}) };
}

const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;

/**
 * The phases of one swap_table step (`stepId`) from its events, in time order: shadow, trigger
 * install, copy, verify, the swap transaction (its lock wait and the changes, one DO block), the FK
 * VALIDATE and the ANALYZE after it.
 */
export function swapPhases(events: RunEvent[], stepId: string): Phase[] {
  const own = events.filter((e) => 'stepId' in e && e.stepId === stepId);
  const sqls = own.filter((e): e is Sql => e.type === 'step.sql');
  const at = (re: RegExp) => sqls.findIndex((e) => re.test(e.sql));
  const syncFrom = at(/CREATE OR REPLACE FUNCTION .*pgrunbook_swap_sync/s);
  const lockAt = sqls.findIndex((e, i) => i > syncFrom && /^LOCK TABLE/.test(e.sql));
  // A step whose statements look otherwise (renamed objects, a failed step) would print an empty table.
  if (syncFrom < 0 || lockAt < 0)
    throw new Error(
      `swap_table step ${stepId}: no ${syncFrom < 0 ? 'sync function' : 'LOCK TABLE after the sync trigger'} among its ${sqls.length} statement events; the phase table needs both (has the step's SQL changed?)`,
    );
  const triggerEnd = sqls.findIndex((e, i) => i > syncFrom && /CREATE TRIGGER "pgrunbook_swap_sync_truncate"/.test(e.sql));
  const out: (Phase | undefined)[] = [];
  out.push(window('create the shadow table', sqls.slice(0, syncFrom)));
  const trigger = sqls.slice(syncFrom, triggerEnd + 1).filter((e) => e.ok);
  out.push(window('sync trigger install (DROP/CREATE TRIGGER on the table)', trigger, statementNote(trigger)));
  const copied = own.find((e) => e.type === 'step.log' && /^copied \d+ rows/.test(e.message));
  const progress = own.filter((e) => e.type === 'step.progress');
  const triggerTo = window('', trigger)?.to ?? 0;
  if (copied) {
    const sizes = progress.flatMap((e) => (e.progress.kind === 'backfill' ? [e.progress] : []));
    const note = sizes.length
      ? `batch size ${Math.min(...sizes.map((p) => p.batchSize))}–${Math.max(...sizes.map((p) => p.batchSize))}, last batch ${ms(Math.min(...sizes.map((p) => p.lastBatchMs)))}–${ms(Math.max(...sizes.map((p) => p.lastBatchMs)))} in the progress reports`
      : undefined;
    out.push({ name: 'copy (keyset batches)', from: triggerTo, to: time(copied), ...(note ? { note } : {}) });
  }
  const beforeVerify = sqls.filter((e, i) => i > triggerEnd && i < lockAt && e.ok && /VALIDATE|ANALYZE/.test(e.sql));
  out.push(window('shadow: VALIDATE outgoing FKs, ANALYZE', beforeVerify));
  const verified = own.find((e) => e.type === 'step.evidence' && e.evidence.some((x) => x.label === 'checksum'));
  const verifyFrom = window('', beforeVerify)?.to ?? (copied ? time(copied) : triggerTo);
  if (verified) out.push({ name: 'verify (count + checksum, one snapshot)', from: verifyFrom, to: time(verified) });
  // The changes after the LOCK: one DO block.
  const swapEnd = sqls.findIndex((e, i) => i > lockAt && e.ok && /^DO \$pgrunbook_swap\$/.test(e.sql));
  if (swapEnd < 0) throw new Error(`swap_table step ${stepId}: no DO block after its LOCK TABLE (did the swap fail?)`);
  const swapTx = sqls.slice(lockAt, swapEnd + 1);
  const retries = own.filter((e) => e.type === 'step.retry').length;
  out.push(
    window(
      'swap transaction (ACCESS EXCLUSIVE)',
      swapTx,
      [`${retries} retr${retries === 1 ? 'y' : 'ies'}`, statementNote(swapTx.filter((e) => e.ok))].filter(Boolean).join('; '),
    ),
  );
  const lastLock = swapTx.filter((e) => /^LOCK TABLE/.test(e.sql)).at(-1);
  if (lastLock) {
    out.push({ ...span(lastLock), name: '  of which: LOCK TABLE (waiting for the locks)' });
    out.push(
      window(
        '  of which: the changes, locks held',
        swapTx.filter((e) => e.ok && time(e) > span(lastLock).to),
      ),
    );
  }
  const after = sqls.slice(swapEnd + 1).filter((e) => e.ok);
  out.push(
    window(
      'VALIDATE the re-pointed FKs',
      after.filter((e) => /VALIDATE CONSTRAINT/.test(e.sql)),
    ),
  );
  out.push(
    window(
      'ANALYZE the new table',
      after.filter((e) => /^ANALYZE/.test(e.sql)),
    ),
  );
  return out.filter((p): p is Phase => !!p);
}

/** The slowest statements of a group, for the note. */
function statementNote(xs: Sql[]): string {
  const top = [...xs].sort((a, b) => b.durationMs - a.durationMs).slice(0, 2);
  return top.map((e) => `${e.sql.replace(/\s+/g, ' ').slice(0, 40)}… ${ms(e.durationMs)}`).join(', ');
}

/**
 * A row per phase: its length, the transactions that ended in it (p99, max), and the slow ones
 * (over `slowMs`) whose span overlapped it, each counted once, in the phase it overlapped most.
 */
export function phaseRows(phases: Phase[], txs: Tx[], slowMs: number): string[] {
  const ok = txs.filter((t) => !Number.isNaN(t.ms));
  const slow = ok.filter((t) => t.ms > slowMs);
  const top = phases.filter((p) => !p.name.startsWith('  '));
  const owner = new Map<Tx, Phase>();
  for (const t of slow) {
    let best: Phase | undefined;
    let bestOverlap = 0;
    for (const p of top) {
      const o = Math.min(t.at, p.to) - Math.max(t.at - t.ms, p.from);
      if (o > bestOverlap) [best, bestOverlap] = [p, o];
    }
    if (best) owner.set(t, best);
  }
  const rows = phases.map((p) => {
    const lat = ok
      .filter((t) => t.at >= p.from && t.at <= p.to)
      .map((t) => t.ms)
      .sort((a, b) => a - b);
    const p99 = lat.length ? lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))]! : Number.NaN;
    const mine = slow.filter((t) => owner.get(t) === p);
    const sub = p.name.startsWith('  ');
    const overlapping = sub ? slow.filter((t) => t.at - t.ms < p.to && t.at > p.from).length : mine.length;
    return `| ${p.name} | ${ms(p.to - p.from)} | ${lat.length} | ${Number.isNaN(p99) ? '–' : ms(p99)} | ${lat.length ? ms(lat.at(-1)!) : '–'} | ${overlapping} | ${p.note ?? ''} |`;
  });
  const unowned = slow.filter((t) => !owner.has(t)).length;
  if (unowned) rows.push(`| outside every phase (between them) | – | – | – | – | ${unowned} | |`);
  return rows;
}

export const PHASE_HEADER = [
  '| phase | took | workload tx ended in it | p99 | max | slow tx overlapping it | note |',
  '|---|---|---|---|---|---|---|',
];
