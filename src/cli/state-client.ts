// One short connection for commands that read pgrunbook's state (status, report, resume).
import pg from 'pg';
import { RunbookError } from '../util/runbook-error.js';
import { describeTarget, explainConnectionError, type ConnectionSpec } from '../pg/connection.js';
import { clientConfig } from '../pg/client-config.js';
import { watchdogFor } from '../pg/stall-watchdog.js';

/** Connects, tells `fn` whether the pgrunbook schema exists, and always disconnects. */
export async function withStateClient<T>(
  connection: ConnectionSpec,
  command: string,
  fn: (client: pg.Client, hasState: boolean) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ ...clientConfig(connection.connectionString), application_name: `pgrunbook:${command}` });
  client.on('error', () => {});
  watchdogFor(connection.connectionString).track(client);
  try {
    await client.connect();
  } catch (err) {
    throw new RunbookError(explainConnectionError(err, connection));
  }
  try {
    const has = await client.query<{ ok: boolean }>(`select to_regclass('pgrunbook.runs') is not null as ok`);
    return await fn(client, has.rows[0]!.ok);
  } catch (err) {
    if (!connectionLost(err)) throw err;
    throw new RunbookError(
      `lost the connection to ${describeTarget(connection.target)} while \`pgrunbook ${command}\` read the run state (${(err as Error).message}): it was reset, or it stopped answering and was given up. Check the network path to the server, then run \`pgrunbook ${command}\` again`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

function connectionLost(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    ['ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e?.code ?? '') ||
    /Connection terminated|connection error|not queryable/i.test(e?.message ?? '')
  );
}
