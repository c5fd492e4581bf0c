// The validated, variable-rendered runbook the engine runs. Produced by src/runbook/load.ts.
import { redact } from '../util/secrets.js';
import type { FleetSection } from './fleet-section.js';

export const PHASES = ['plan', 'test', 'deploy', 'monitor', 'rollback'] as const;
export type PhaseName = (typeof PHASES)[number];

export const GATE_LEVELS = ['none', 'confirm', 'type'] as const;
export type GateLevel = (typeof GATE_LEVELS)[number];

/** 1-based line and column, as printed in `FILE:LINE:COL: message`. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export interface Settings {
  lockTimeoutMs: number;
  /** 0 = no statement timeout. */
  statementTimeoutMs: number;
  /** Retries on lock_not_available (55P03) before asking the operator. */
  ddlRetries: number;
}

export const DEFAULT_SETTINGS: Settings = { lockTimeoutMs: 2000, statementTimeoutMs: 0, ddlRetries: 10 };

export interface StepSpec<P = unknown> {
  id: string;
  phase: PhaseName;
  kind: string;
  /** The value under the kind key, validated by the kind's schema, variables rendered. */
  params: P;
  title?: string;
  why?: string;
  /** Explicit gate from the runbook; the engine falls back to the kind's default. */
  gate?: GateLevel;
  /** People other than the operator who must approve the step's gate (`gate: { approvers: N }`). */
  approvers?: number;
  /** Rollback SQL (rendered), for kinds that take one (`sql`). */
  rollback?: string;
  timeoutMs?: number;
  /** Per-step overrides of runbook settings. */
  settings: Settings;
  pos: SourcePos;
}

export interface Runbook {
  version: 1;
  name: string;
  description?: string;
  /** Effective variables: defaults from `vars` overridden by --var. Secret variables are not here. */
  vars: Record<string, string>;
  /** Secret variables: name -> the environment variable read at run and at resume (values never kept). */
  secretVars?: Record<string, string>;
  settings: Settings;
  /** Runbook-wide integration settings (settings.notify ...). */
  integrations?: {
    notify?: { url?: string; url_env?: string; format?: 'slack' | 'json' }[];
    notifyThrottledAfterMs?: number;
    /** settings.approvals: approvers every irreversible (`type`) step gate needs, unless the step says otherwise. */
    approvals?: number;
    /** settings.approval_timeout: how long a gate waits for approvers before the run stops (none: it waits). */
    approvalTimeoutMs?: number;
  };
  phases: Record<PhaseName, StepSpec[]>;
  /** The `fleet:` section, for `pgrunbook fleet run` (a single run ignores it). */
  fleet?: FleetSection;
  /** Path as given, and the exact source text (stored in the journal so resume works from any machine). */
  file: string;
  source: string;
}

export type Severity = 'error' | 'warning';

export interface Problem {
  pos: SourcePos;
  severity: Severity;
  message: string;
}

export function formatProblem(p: Problem): string {
  // A message may quote rendered text, which may hold a secret variable's value.
  return redact(`${p.pos.file}:${p.pos.line}:${p.pos.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`);
}
