// The source is only ever read. Every session pgrunbook opens on it for a rehearsal starts with
// default_transaction_read_only=on (in the startup packet, so it holds from the first query) and
// short timeouts, so a rehearsal can neither write nor queue behind production's locks for long.
import pg from 'pg';
import { clientConfig } from '../pg/client-config.js';
import { watchdogFor } from '../pg/stall-watchdog.js';

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
  // A stalled network path would otherwise hang the clone forever; the watchdog's probes are read-only too.
  watchdogFor(url, sourceOptions()).track(c);
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
  p.on('connect', (client) => watchdogFor(url, sourceOptions()).track(client));
  return p;
}
