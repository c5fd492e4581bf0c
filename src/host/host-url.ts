// An endpoint URL as notes show it: without user or password, so no credential reaches output.
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.includes('@') ? '(an invalid URL)' : url;
  }
}

/** The reason of a failed request, named for the operator (never the raw message: it may quote the URL). */
export function fetchFailure(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string }; response?: { status?: number } };
  const code = e?.cause?.code ?? e?.code;
  if (e?.name === 'TimeoutError' || code === 'ECONNABORTED' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'no answer in time';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (e?.response?.status) return `HTTP ${e.response.status}`;
  return code ? `request failed (${code})` : 'request failed';
}
