// A connection lost in the middle of a rehearsal: the error says which server, during which part of
// the rehearsal, whether the sandbox was cleaned up (as it really went), and what to do next. The
// source is only read during a rehearsal, so a lost connection never leaves anything changed there.
import { RunbookError } from '../util/runbook-error.js';

/** The part of the rehearsal under way, and which server(s) it talks to. */
const TALKS_TO = {
  'source read': 'source',
  'sandbox start': 'sandbox',
  copy: 'both',
  'sandbox inspection': 'both',
  'deploy trace': 'sandbox',
  'rollback trace': 'sandbox',
} as const;

export type RehearsalStage = keyof typeof TALKS_TO;

/** A reset, a closed socket or a session the stall watchdog gave up on. */
export function isConnectionLost(err: unknown): boolean {
  if (err instanceof RunbookError) return false; // already explained
  const e = err as { code?: string; message?: string } | undefined;
  return (
    ['ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e?.code ?? '') ||
    /Connection terminated|connection error|not queryable|ECONNRESET|EPIPE|server closed the connection/i.test(e?.message ?? '')
  );
}

export interface LostConnection {
  err: unknown;
  at: RehearsalStage;
  /** Printable, password-free source target (user@host:port/db). */
  source: string;
  /** The sandbox, once it was opened: its description and whether closing it worked. */
  sandbox?: { description: string; cleanedUp: boolean; closeError?: string };
}

export function lostConnectionError(l: LostConnection): RunbookError {
  const talksTo = TALKS_TO[l.at];
  const where =
    talksTo === 'source'
      ? `the source (${l.source})`
      : talksTo === 'sandbox'
        ? `the sandbox (${l.sandbox?.description ?? 'while it was starting'})`
        : `the source (${l.source}) or the sandbox (${l.sandbox?.description ?? 'not opened'})`;
  const cleanup = !l.sandbox
    ? 'no sandbox had been opened yet'
    : l.sandbox.cleanedUp
      ? `the sandbox ${l.sandbox.description} was cleaned up`
      : `the sandbox ${l.sandbox.description} was NOT cleaned up (${l.sandbox.closeError ?? 'closing it failed'}): remove it by hand`;
  return new RunbookError(
    `the connection to ${where} was lost during the rehearsal's ${l.at} (${(l.err as Error)?.message ?? String(l.err)}); ${cleanup}. Nothing on the source was changed: check the network path, then re-run \`pgrunbook rehearse\` with the same arguments`,
    { exitCode: 1, cause: l.err },
  );
}
