// `validate` warns about literals that look like credentials: a runbook is shared, reviewed and
// stored in pgrunbook.runs, so a password or token belongs in a secret variable instead.
export interface CredentialHit {
  /** Offset of the suspicious value in the text. */
  offset: number;
  what: string;
}

const PATTERNS: { re: RegExp; what: string; group: number }[] = [
  // scheme://user:password@host, unless the password is a {{ reference }} or $VARIABLE.
  { re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@'"]+:(?!\{\{|\$)([^\s@/'"]+)@/gi, what: 'a URL with a password', group: 1 },
  // PGPASSWORD=..., password=... in a conninfo string or a shell command.
  { re: /\b(?:PGPASSWORD|password|passwd)\s*=\s*['"]?(?!\{\{|\$|\s|['"])([^\s'";]+)/gi, what: 'a password assignment', group: 1 },
  // Well-known token shapes.
  {
    re: /\b(ghp_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|sk_live_[A-Za-z0-9]{16,}|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+)/g,
    what: 'a token',
    group: 1,
  },
  // token: / api_key: / secret: with a long random-looking value.
  {
    re: /\b(?:[a-z_]*token|api[_-]?key|secret|client[_-]?secret)\s*[:=]\s*['"]?((?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{20,})/gi,
    what: 'a token-shaped value',
    group: 1,
  },
];

export function findCredentialLiterals(text: string): CredentialHit[] {
  const hits: CredentialHit[] = [];
  const seen = new Set<number>();
  for (const { re, what, group } of PATTERNS) {
    for (const m of text.matchAll(re)) {
      const offset = m.index! + m[0].lastIndexOf(m[group]!);
      if (seen.has(offset)) continue;
      seen.add(offset);
      hits.push({ offset, what });
    }
  }
  return hits.sort((a, b) => a.offset - b.offset);
}

export function credentialMessage(hit: CredentialHit): string {
  return `this looks like ${hit.what} written into the runbook: it would be stored in pgrunbook.runs and shown to everyone who reads the runbook; read it from the environment instead (vars: { name: { from_env: ENV_NAME, secret: true } } or --secret-var name=ENV_NAME)`;
}
