// Stores a completed rehearsal's projection in the source database, where plan and the deploy gate
// find it again (analyze/plan/rehearsal-projection.ts).
//
// The rehearsal itself reads the source only through read-only sessions (source-read-only.ts).
// This is its one write, and it goes where pgrunbook already keeps run state: the `pgrunbook`
// schema, one row in its own table, in a separate short session opened after the sandbox work,
// with short lock and statement timeouts. It touches no application table, and when the role may
// not write there the rehearsal still succeeds: only the stored projection is missing, and plan and
// the gate say the estimate is size-based.
import pg from 'pg';
import { rehearsalsTableSql, runbookKey, sourceTableSizes } from '../analyze/plan/rehearsal-projection.js';
import { currentIdentity } from '../engine/operator-identity.js';
import { ensureStateSchema } from '../engine/state-schema.js';
import { clientConfig } from '../pg/client-config.js';
import { resolveConnection } from '../pg/connection.js';
import { sqlText } from '../pg/sql-files.js';
import type { Runbook } from '../runbook/model.js';
import type { RehearsalResult } from './rehearsal-types.js';

/** Why a rehearsal's projection is not worth keeping, or undefined when it is. */
function notWorthKeeping(result: RehearsalResult, drill: boolean): string | undefined {
  if (result.deploy.status !== 'completed') return `the deploy phase ${result.deploy.status} in the sandbox`;
  if (drill) return 'a drill injects faults, so its timings are not the deploy’s';
  if (!result.clone) return 'nothing was cloned';
  return undefined;
}

/**
 * Records the projection and returns what to tell the operator. Never throws: a projection that
 * cannot be stored leaves plan and the gate on their size-based estimates.
 */
export async function recordProjection(
  sourceUrl: string | undefined,
  runbook: Runbook,
  result: RehearsalResult,
  opts: { drill?: boolean } = {},
): Promise<string> {
  const skip = notWorthKeeping(result, !!opts.drill);
  if (skip) return `projection not stored for plan and the deploy gate: ${skip}`;
  const client = new pg.Client({
    ...clientConfig(resolveConnection(sourceUrl).connectionString),
    application_name: 'pgrunbook-rehearsal:record',
    options: '-c lock_timeout=2000 -c statement_timeout=10000',
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await ensureStateSchema(client, [rehearsalsTableSql()]);
    const who = currentIdentity();
    await client.query(sqlText('rehearsal/sql', 'rehearsal-record'), [
      runbookKey(runbook),
      runbook.name,
      result.clone!.samplePct,
      result.sandbox.description,
      who.user,
      who.host,
      JSON.stringify(result.projection),
      JSON.stringify(sourceTableSizes(result.clone!.tables)),
    ]);
    return 'projection stored in the pgrunbook schema: plan and the deploy gate of this runbook with these variables will show it';
  } catch (err) {
    return `warning: projection not stored (${(err as Error).message}); plan and the deploy gate will use size-based estimates`;
  } finally {
    await client.end().catch(() => {});
  }
}
