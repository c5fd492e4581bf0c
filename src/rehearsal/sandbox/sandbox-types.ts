// A sandbox is a PostgreSQL database the rehearsal may change freely: a throwaway embedded server,
// a Docker container, or an existing staging database given by URL. Never the source.

export type SandboxKind = 'embedded' | 'docker' | 'url';

export interface Sandbox {
  kind: SandboxKind;
  /** Connection string of the sandbox database (may hold a password: never print it, use `description`). */
  url: string;
  /** Major version of the sandbox server. */
  major: number;
  /** Printable, password-free description ("embedded PostgreSQL 17 on 127.0.0.1:5433/app"). */
  description: string;
  /** Things the operator should know (version mismatch, same server as the source...). */
  warnings: string[];
  /** True for an existing database (URL): only what the rehearsal created is removed from it, on close. */
  existing: boolean;
  /** Runs `fn` on close, before the sandbox itself goes (newest first). */
  onClose(fn: () => Promise<void>): void;
  /** Stops / removes whatever the sandbox created. Idempotent. */
  close(): Promise<void>;
}

export interface SandboxRequest {
  /** `embedded`, `docker`, or a postgres:// URL. */
  spec: string;
  /** Major version of the source server: the sandbox should match it. */
  sourceMajor: number;
  /** Name of the database to create in a fresh sandbox (the source's, for fidelity). */
  database: string;
  /** Connection string of the source (to refuse a URL sandbox that is the source). */
  sourceUrl?: string;
  /** Where a sandbox reports what its cleanup could not do (a staging database's leftovers). */
  log?: (message: string) => void;
}
