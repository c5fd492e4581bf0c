// Reads one fleet target for the health check between waves: replication lag and lock waits now
// (sql/target-health.sql), and the runbook's `fleet.health.check` query. Short timeouts: a probe
// that cannot answer says so and counts as unhealthy, it never holds the fleet.
import { connectionFactory, type ConnectionSpec, explainConnectionError } from '../pg/connection.js';
import { sqlText } from '../pg/sql-files.js';
import { redactedMessage } from '../util/secrets.js';
import type { TargetProbe } from './fleet-health.js';

const PROBE_TIMEOUT_MS = 10_000;

export async function probeTarget(connection: ConnectionSpec, checkSql: string | undefined): Promise<TargetProbe> {
  const client = connectionFactory(connection).client('pgrunbook:fleet-health');
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    return { lagSeconds: null, lockWaits: null, error: explainConnectionError(err, connection) };
  }
  try {
    await client.query(`SET statement_timeout = ${PROBE_TIMEOUT_MS}`);
    const now = await client.query<{ lag_seconds: number | null; lock_waits: number }>(sqlText('fleet/sql', 'target-health'));
    const row = now.rows[0]!;
    const probe: TargetProbe = { lagSeconds: row.lag_seconds, lockWaits: row.lock_waits };
    if (checkSql) probe.check = await runCheck(client, checkSql);
    return probe;
  } catch (err) {
    return { lagSeconds: null, lockWaits: null, error: redactedMessage(err) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** The check passes when its first row's first column is true. */
async function runCheck(client: { query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> }, sql: string) {
  try {
    const r = await client.query(sql);
    const first = r.rows[0];
    if (!first) return { ok: false, detail: 'the check query returned no row' };
    const value = Object.values(first)[0];
    const ok = value === true || value === 't' || value === 'true';
    return { ok, detail: ok ? 'true' : `returned ${JSON.stringify(value)}, expected true` };
  } catch (err) {
    return { ok: false, detail: `the check query failed: ${redactedMessage(err)}` };
  }
}
