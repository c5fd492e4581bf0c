// The source is only ever read. Every session pgrunbook opens on it for a rehearsal starts with
// default_transaction_read_only=on (in the startup packet, so it holds from the first query) and
// short timeouts, so a rehearsal can neither write nor queue behind production's locks for long.
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';

export const SOURCE_SESSION_SETTINGS = {
  default_transaction_read_only: 'on',
  lock_timeout: '1000',
  statement_timeout: '0',
  idle_in_transaction_session_timeout: '0',
} as const;

export function sourceOptions(): string {
  return Object.entries(SOURCE_SESSION_SETTINGS)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
}

export function readOnlySourceClient(url: string | undefined, applicationName = 'pgrunbook-rehearsal:source'): pg.Client {
  const c = new pg.Client({
    ...clientConfig(url),
    application_name: applicationName,
    options: sourceOptions(),
    connectionTimeoutMillis: 10_000,
  });
  c.on('error', () => {});
  return c;
}

export function readOnlySourcePool(url: string | undefined, applicationName = 'pgrunbook-rehearsal:source'): pg.Pool {
  const p = new pg.Pool({
    ...clientConfig(url),
    application_name: applicationName,
    options: sourceOptions(),
    max: 2,
    connectionTimeoutMillis: 10_000,
  });
  p.on('error', () => {});
  return p;
}
