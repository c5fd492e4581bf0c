// The naive way: the change as a hurried engineer types it, with no lock_timeout. The only
// guard is the lesson's cap (statement_timeout), so the lesson cannot stall for ever; when it
// fires, the screen says so.
import pg from 'pg';
import { redactedMessage } from '../util/secrets.js';

export const NAIVE_APP = 'learn:naive-deploy';

export interface NaiveResult {
  ms: number;
  /** The cap stopped it (statement_timeout): in production it would have gone on waiting. */
  capped: boolean;
  error?: string;
}

export async function runNaive(url: string, sql: string, capMs: number): Promise<NaiveResult> {
  const c = new pg.Client({
    connectionString: url,
    application_name: NAIVE_APP,
    options: `-c lock_timeout=0 -c statement_timeout=${Math.max(1, Math.round(capMs))}`,
  });
  c.on('error', () => {});
  await c.connect();
  const t0 = performance.now();
  try {
    await c.query(sql);
    return { ms: performance.now() - t0, capped: false };
  } catch (err) {
    const capped = (err as { code?: string }).code === '57014';
    return { ms: performance.now() - t0, capped, error: capped ? undefined : redactedMessage(err) };
  } finally {
    await c.end().catch(() => {});
  }
}
