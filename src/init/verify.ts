// The proof behind `init --verify` (and the rule tests): the naive migration and the generated
// runbook run on two fresh databases of one server, from the same starting schema and rows; their
// end schemas are compared with the rehearsal's schema diff (column order is not compared: the
// snapshot leaves attnum out, and a rewrite may append a column the naive way would not), and
// pgrunbook's own schema is not compared (LEFT_OUT).
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import type { RunEvent } from '../engine/events.js';
import { tracePhase } from '../rehearsal/trace.js';
import type { PhaseTrace } from '../rehearsal/rehearsal-types.js';
import { parseStatements } from '../pg/sqlparse.js';
import { sqlText } from '../pg/sql-files.js';
import { watchSession } from '../pg/stall-watchdog.js';
import { diffSchemas, schemaSnapshot, type SchemaDiff } from '../rehearsal/schema-diff.js';
import type { Runbook } from '../runbook/model.js';
import type { RunnerFactory } from '../engine/runner.js';

export interface VerifyInput {
  /** Admin connection string of the server the two databases are created on. */
  adminUrl: string;
  /** The starting schema (and rows), run in both databases. */
  base: string[];
  /** Runs first in both databases (e.g. recreates the target database's schema). */
  prepare?: (url: string) => Promise<void>;
  /** The naive migration scripts, run as written. */
  naive: string[];
  runbook: Runbook;
  /** Runs the runbook's deploy phase (the composition root's newRunner). */
  newRunner: RunnerFactory;
  /** Deploy steps left out (the step that records the migrations in the tool's history table). */
  skipSteps?: string[];
  /** Keep the databases (tests inspect them); default: drop them. */
  keep?: boolean;
}

/** What the comparison leaves out, in the operator's words (the rehearsal's schema diff ignores the pgrunbook schema). */
export const LEFT_OUT =
  "pgrunbook's own objects are left out: its pgrunbook schema, with the run state and the pgrunbook.feature_flags table a change_column flag lives in";

export interface VerifyResult {
  same: boolean;
  diff: SchemaDiff;
  naiveError?: string;
  runbookError?: string;
  events: RunEvent[];
  /** Locks and rewrites the runbook's steps were seen to take. */
  trace: PhaseTrace;
  naiveUrl: string;
  runbookUrl: string;
  drop(): Promise<void>;
}

function dbUrl(admin: string, name: string): string {
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A session of the proof, under the stall watchdog like the rehearsal's: the sandbox server may be
 * local, but a connection that stalls with a query in flight would still hang `init --verify`.
 */
function session(url: string): pg.Client {
  return watchSession(new pg.Client({ connectionString: url, application_name: 'pgrunbook:init-verify' }), url);
}

/** Runs scripts statement by statement on one session (so CONCURRENTLY runs outside a transaction). */
export async function runScripts(url: string, scripts: string[]): Promise<void> {
  const c = session(url);
  await c.connect();
  try {
    for (const s of scripts) for (const p of parseStatements(s)) await c.query(p.sql);
  } finally {
    await c.end();
  }
}

export async function verifyRunbook(v: VerifyInput): Promise<VerifyResult> {
  const tag = randomBytes(4).toString('hex');
  const names = [`init_naive_${tag}`, `init_runbook_${tag}`];
  const admin = session(v.adminUrl);
  await admin.connect();
  try {
    for (const n of names) await admin.query(`CREATE DATABASE ${n}`);
  } finally {
    await admin.end();
  }
  const [naiveUrl, runbookUrl] = names.map((n) => dbUrl(v.adminUrl, n)) as [string, string];
  const drop = async () => {
    const c = session(v.adminUrl);
    await c.connect();
    for (const n of names) await c.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
    await c.end();
  };
  try {
    for (const url of [naiveUrl, runbookUrl]) {
      await v.prepare?.(url);
      await runScripts(url, v.base);
    }
    const naiveError = await runScripts(naiveUrl, v.naive).then(
      () => undefined,
      (e: Error) => e.message,
    );
    // The record-keeping step writes the tool's history table, which the sandboxes do not have.
    // `unused` watches the live workload for a while; a sandbox has none, so it would prove nothing.
    const deploy = v.runbook.phases.deploy.filter((s) => !v.skipSteps?.includes(s.id) && s.kind !== 'unused');
    const events: RunEvent[] = [];
    const trace = await tracePhase({
      newRunner: v.newRunner,
      runbook: { ...v.runbook, phases: { ...v.runbook.phases, deploy } },
      sandboxUrl: runbookUrl,
      phase: 'deploy',
      tables: await userTables(runbookUrl),
      listeners: [(e) => events.push(e)],
    });
    const failed = events.find((e) => e.type === 'step.failed') as any;
    const runbookError =
      trace.status === 'completed' ? undefined : `${failed?.stepId ?? 'run'}: ${failed?.error ?? trace.error ?? trace.status}`;
    const snap = async (url: string) => {
      const c = session(url);
      await c.connect();
      try {
        return await schemaSnapshot(c);
      } finally {
        await c.end();
      }
    };
    const diff = diffSchemas(await snap(naiveUrl), await snap(runbookUrl));
    const result = {
      same: diff.same && !naiveError && !runbookError,
      diff,
      naiveError,
      runbookError,
      events,
      trace,
      naiveUrl,
      runbookUrl,
      drop,
    };
    if (!v.keep) await drop();
    return result;
  } catch (err) {
    if (!v.keep) await drop().catch(() => {});
    throw err;
  }
}

async function userTables(url: string): Promise<string[]> {
  const c = session(url);
  await c.connect();
  try {
    const r = await c.query<{ t: string }>(sqlText('init/sql', 'user-table-names'));
    return r.rows.map((x) => x.t);
  } finally {
    await c.end();
  }
}
