// Passwords are registered here the moment they are read, and every output path
// (renderers, journal, reports, error messages) passes text through `redact`.
const secrets = new Set<string>();

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 1) secrets.add(value);
}

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)([^@\s/]+)(@)/gi;
// password=..., PGPASSWORD=..., DEPLOY_TOKEN=..., api_secret=...: an assignment to a name that says what it holds.
const KV_PASSWORD = /(\b[A-Za-z0-9_]*(?:password|passwd|secret|token)\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]+)/gi;

export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD, '$1***$3').replace(KV_PASSWORD, '$1***');
  for (const s of secrets) {
    if (s.length === 0) continue;
    out = out.split(s).join('***');
    const enc = encodeURIComponent(s);
    if (enc !== s) out = out.split(enc).join('***');
  }
  return out;
}

/** An error's message as the operator may read it: every output path words errors with this. */
export function redactedMessage(err: unknown): string {
  return redact((err as Error | undefined)?.message ?? String(err));
}

/** Deeply redacts strings inside a JSON-like value. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = /^password$/i.test(k) ? '***' : redactDeep(v);
    return out as T;
  }
  return value;
}
