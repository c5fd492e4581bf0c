// Warnings for the plan: about the server right now, and per step (the analyzer's findings made
// concrete with sizes and projected durations).
import type { ServerFacts } from '../../pg/server-facts.js';
import type { PlanTableFacts } from '../../pg/catalog/plan-table-facts.js';
import { LOCK_STRENGTH } from '../../pg/lock-modes.js';
import { sqlModeName } from '../locks.js';
import { estimateText, fmtDuration } from './estimate.js';
import { formatBytes } from '../../util/units.js';
import type { PlanStep, PlanTable, PlanWarning } from './plan-types.js';

const GB = 1024 ** 3;

export function serverWarnings(server: ServerFacts, tables: PlanTable[], steps: PlanStep[]): PlanWarning[] {
  const out: PlanWarning[] = [];
  if (server.inRecovery) {
    out.push({
      severity: 'error',
      message: 'the target is a standby in recovery (read only): the deploy cannot run here',
      safe: 'Point --db at the primary.',
    });
  }
  if (server.longTransactions.length) {
    const oldest = server.longTransactions[0]!;
    out.push({
      severity: 'warning',
      message: `${server.longTransactions.length} transaction${server.longTransactions.length > 1 ? 's have' : ' has'} been open for more than a minute (oldest: pid ${oldest.pid}, ${fmtDuration(oldest.xactSeconds)}, ${oldest.state ?? 'unknown state'}${oldest.application ? `, ${oldest.application}` : ''}): a DDL statement waiting behind one queues every later query on its table, and CREATE INDEX CONCURRENTLY waits for them to end`,
      safe: 'Let them finish or end them (pg_cancel_backend / pg_terminate_backend) before deploying; steps keep lock_timeout so they retry rather than stall the application.',
    });
  }
  for (const s of server.standbys) {
    if ((s.lagBytes ?? 0) > 256 * 1024 ** 2 || (s.replayLagSeconds ?? 0) > 10) {
      out.push({
        severity: 'warning',
        message: `standby ${s.name || s.clientAddr || '?'} is already behind (${s.lagBytes !== null ? formatBytes(s.lagBytes) : '?'} to replay${s.replayLagSeconds !== null ? `, ${fmtDuration(s.replayLagSeconds)}` : ''}): a backfill or rewrite adds WAL on top`,
        safe: 'Wait until it catches up; backfill steps hold while a standby lags (and throttle on lock waiters, application latency, WAL rate and checkpoints).',
      });
    }
  }
  for (const slot of server.slots) {
    if (!slot.active && (slot.retainedBytes ?? 0) > GB) {
      out.push({
        severity: 'warning',
        message: `replication slot ${slot.name} is inactive and retains ${formatBytes(slot.retainedBytes!)} of WAL: WAL written by the deploy piles up on the primary's disk`,
        safe: 'Reconnect its consumer or drop the slot if it is abandoned, and watch disk space during the deploy.',
      });
    }
  }
  for (const t of tables) {
    for (const i of t.indexes) {
      if (!i.valid) {
        out.push({
          severity: 'warning',
          message: `index ${i.name} on ${t.name} is INVALID (a failed CREATE INDEX CONCURRENTLY?): it is still updated on every write and never used`,
          safe: `DROP INDEX CONCURRENTLY ${i.name}; then build it again (a create_index step does both).`,
        });
      }
    }
    if (t.accessExclusiveNow) {
      out.push({
        severity: 'warning',
        message: `${t.name} has an ACCESS EXCLUSIVE lock granted or waiting right now: sizes come from pg_class instead of the size functions`,
        safe: 'Find the session with `pgrunbook monitor` before deploying.',
      });
    }
    const swaps = steps.filter((s) => s.kind === 'swap_table' && s.locks.some((l) => sameRelation(l.relation, t.name)));
    if (t.dependentViews.length && swaps.length) {
      out.push({
        severity: 'info',
        message: `views ${t.dependentViews.map((v) => v.name).join(', ')} depend on ${t.name}: they bind by OID and must be recreated after the swap`,
      });
    }
  }
  const idle = server.settings.find((s) => s.name === 'idle_in_transaction_session_timeout');
  if (idle && idle.setting === '0') {
    out.push({
      severity: 'info',
      message:
        'idle_in_transaction_session_timeout is off: a forgotten open transaction can hold back a concurrent index build indefinitely',
    });
  }
  return out;
}

export function stepWarnings(step: PlanStep, tables: Map<string, PlanTableFacts>): PlanWarning[] {
  const out: PlanWarning[] = [];
  const seen = new Set<string>();
  const push = (w: PlanWarning) => {
    const k = `${w.rule ?? ''}|${w.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(w);
    }
  };
  for (const st of step.statements) {
    const a = st.analysis;
    if (!a) continue;
    for (const f of a.findings) {
      if (f.severity === 'info') continue;
      push({
        rule: f.rule,
        severity: f.severity,
        message: f.message,
        ...(f.safe_alternative ? { safe: f.safe_alternative } : {}),
        source: f.source,
      });
    }
    // Heavy work while holding a lock that stops the application.
    const blocking = a.locks.filter(
      (l) => LOCK_STRENGTH[l.mode] >= LOCK_STRENGTH.ShareLock && l.relkind !== 'index' && tables.has(l.relation),
    );
    if (blocking.length && st.estimate && st.estimate.seconds >= 1 && ['scan', 'rewrite', 'index-build', 'rows'].includes(a.work)) {
      const l = blocking.sort((x, y) => LOCK_STRENGTH[y.mode] - LOCK_STRENGTH[x.mode])[0]!;
      const blocks = l.mode === 'AccessExclusiveLock' ? 'every query on it waits, reads included' : 'writes to it wait';
      push({
        rule: 'long-blocking-lock',
        severity: 'warning',
        message: `${headOf(st.sql)} holds ${sqlModeName(l.mode)} on ${l.relation} for ${estimateText(st.estimate)}: ${blocks}`,
        ...(a.findings.find((f) => f.safe_alternative && f.source === 'pgrunbook')?.safe_alternative
          ? { safe: a.findings.find((f) => f.safe_alternative && f.source === 'pgrunbook')!.safe_alternative }
          : {}),
      });
    }
  }
  if (step.error) push({ severity: 'error', message: `the step could not be planned: ${step.error}` });
  return out;
}

/** orders, public.orders and "public"."orders" are the same table on the usual search_path. */
export function sameRelation(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/"/g, '').replace(/^public\./, '');
  return norm(a) === norm(b);
}

export function headOf(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
}
