// How the batch loop treats a failed batch transaction. Whatever the class, the transaction was
// rolled back (or never committed), so the cursor in the database is still the truth.
export type BatchFailure = 'lock' | 'statement-timeout' | 'connection' | 'conflict' | 'fatal';

const CONNECTION_CODES = new Set([
  '57P01', // admin_shutdown: server stopping or pg_terminate_backend
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: server starting up or in recovery
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

export function classifyFailure(err: unknown): BatchFailure {
  const e = err as { code?: string; message?: string };
  if (e?.code === '55P03') return 'lock';
  if (e?.code === '57014' && /statement timeout/i.test(e.message ?? '')) return 'statement-timeout';
  if (e?.code === '40001' || e?.code === '40P01') return 'conflict'; // serialization failure, deadlock
  if (e?.code && CONNECTION_CODES.has(e.code)) return 'connection';
  if (
    /Connection terminated|connection (is )?(closed|ended|lost)|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect/i.test(
      e?.message ?? '',
    )
  ) {
    return 'connection';
  }
  return 'fatal';
}
