// The fleet report: one page (markdown) or object (JSON) for a whole fleet: where it stands, every
// target with a link to its own run report, each wave's timings (every life of the fleet: a resumed
// fleet runs its waves again), every gate decision (the fleet's between waves and each target's
// own), and every halt. Built from the fleet's state, its event log and the targets' journals.
import { redact, redactDeep } from '../util/secrets.js';
import { formatMs } from '../util/units.js';
import type { RunReport } from './run-report.js';

/** A fleet event as the fleet's store logged it (FleetStore.events), with its time. */
interface FleetLogEntry {
  at: string;
  type: string;
  [field: string]: unknown;
}

export interface FleetReportInput {
  status: string;
  haltReason?: string;
  startedAt: string;
  runbook: string;
  targets: Record<string, { status: string; wave: number; runId?: string; reason?: string }>;
  events: FleetLogEntry[];
  /** Each target's run report (to read its gate decisions) and where it was written, or why not. */
  runs: Record<string, { report?: RunReport; link?: string; error?: string }>;
}

export interface WaveTiming {
  wave: number;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  targets: number;
  completed?: number;
  failed?: number;
}

export interface GateDecision {
  at: string;
  /** "fleet" for a gate between waves, else the target whose run decided it. */
  scope: string;
  what: string;
  approved: boolean;
  by?: string;
  reason?: string;
}

export interface FleetReport {
  fleet: { status: string; haltReason?: string; startedAt: string; runbook: string };
  targets: { name: string; wave: number; status: string; runId?: string; reason?: string; report?: string; reportError?: string }[];
  waves: WaveTiming[];
  decisions: GateDecision[];
  halts: { at: string; reason: string; failed: { target: string; reason: string }[]; notStarted: string[] }[];
}

/** Every wave's start and end, in the order they ran (a resumed fleet adds a new row per wave). */
function waveTimings(events: FleetLogEntry[]): WaveTiming[] {
  const out: WaveTiming[] = [];
  for (const e of events) {
    if (e.type === 'fleet.wave.started') {
      out.push({ wave: Number(e.wave), startedAt: e.at, targets: (e.targets as unknown[] | undefined)?.length ?? 0 });
    } else if (e.type === 'fleet.wave.finished') {
      const open = [...out].reverse().find((w) => w.wave === Number(e.wave) && !w.finishedAt);
      if (!open) continue;
      Object.assign(open, { finishedAt: e.at, durationMs: e.durationMs, completed: e.completed, failed: e.failed });
    }
  }
  return out;
}

function targetDecisions(name: string, report: RunReport | undefined): GateDecision[] {
  const out: GateDecision[] = [];
  for (const e of report?.events ?? []) {
    if (e.type !== 'gate.decided') continue;
    const p = e.payload as { request: { stepId: string; level: string }; decision: { approved: boolean; by?: string; reason?: string } };
    out.push({
      at: new Date(e.at).toISOString(),
      scope: name,
      what: `${p.request.stepId} (${p.request.level})`,
      approved: p.decision.approved,
      by: p.decision.by,
      reason: p.decision.reason,
    });
  }
  return out;
}

function fleetDecisions(events: FleetLogEntry[]): GateDecision[] {
  return events
    .filter((e) => e.type === 'fleet.gate.decided')
    .map((e) => ({
      at: e.at,
      scope: 'fleet',
      what: `wave ${e.nextWave ?? Number(e.wave) + 1} after wave ${e.wave}`,
      approved: e.approved === true,
      by: typeof e.by === 'string' ? e.by : undefined,
      reason: typeof e.reason === 'string' ? e.reason : undefined,
    }));
}

export function buildFleetReport(input: FleetReportInput): FleetReport {
  const targets = Object.entries(input.targets).map(([name, t]) => ({
    name,
    wave: t.wave,
    status: t.status,
    runId: t.runId,
    reason: t.reason,
    report: input.runs[name]?.link,
    reportError: input.runs[name]?.error,
  }));
  const decisions = [
    ...fleetDecisions(input.events),
    ...Object.entries(input.runs).flatMap(([name, r]) => targetDecisions(name, r.report)),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const halts = input.events
    .filter((e) => e.type === 'fleet.halted')
    .map((e) => ({
      at: e.at,
      reason: String(e.reason),
      failed: (e.failed as { target: string; reason: string }[]) ?? [],
      notStarted: (e.notStarted as string[]) ?? [],
    }));
  return redactDeep({
    fleet: { status: input.status, haltReason: input.haltReason, startedAt: input.startedAt, runbook: input.runbook },
    targets,
    waves: waveTimings(input.events),
    decisions,
    halts,
  });
}

const cell = (s: unknown) =>
  redact(String(s ?? ''))
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

export function fleetReportMarkdown(r: FleetReport): string {
  const out: string[] = [`# pgrunbook fleet: ${cell(r.fleet.runbook)}`, ''];
  const done = r.targets.filter((t) => t.status === 'completed').length;
  out.push(`- Status: **${r.fleet.status}**${r.fleet.haltReason ? ` — ${cell(r.fleet.haltReason)}` : ''}`);
  out.push(`- Started ${r.fleet.startedAt}; ${r.targets.length} targets started, ${done} completed`, '');
  out.push('## Targets', '', '| target | wave | status | run | report | why |', '|---|---|---|---|---|---|');
  for (const t of r.targets) {
    const link = t.report ? `[report](${encodeURI(t.report)})` : t.reportError ? `not written: ${cell(t.reportError)}` : '—';
    out.push(`| ${cell(t.name)} | ${t.wave} | ${t.status} | ${cell(t.runId ?? '—')} | ${link} | ${cell(t.reason ?? '')} |`);
  }
  out.push('', '## Waves', '', '| wave | started | finished | took | targets | completed | failed |', '|---|---|---|---|---|---|---|');
  for (const w of r.waves) {
    const took = w.durationMs === undefined ? 'did not finish' : formatMs(w.durationMs);
    out.push(
      `| ${w.wave} | ${w.startedAt} | ${w.finishedAt ?? '—'} | ${took} | ${w.targets} | ${w.completed ?? '—'} | ${w.failed ?? '—'} |`,
    );
  }
  out.push('', '## Gate decisions', '');
  if (!r.decisions.length) out.push('None.');
  for (const d of r.decisions) {
    out.push(
      `- ${d.at} **${cell(d.scope)}** ${cell(d.what)}: ${d.approved ? 'approved' : 'not approved'}${d.by ? ` by ${cell(d.by)}` : ''}${d.reason ? ` — ${cell(d.reason)}` : ''}`,
    );
  }
  out.push('', '## Halts', '');
  if (!r.halts.length) out.push('None.');
  for (const h of r.halts) {
    out.push(`- ${h.at}: ${cell(h.reason)}`);
    for (const f of h.failed) out.push(`  - failed **${cell(f.target)}**: ${cell(f.reason)}`);
    if (h.notStarted.length) out.push(`  - not started (${h.notStarted.length}): ${h.notStarted.map(cell).join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}
