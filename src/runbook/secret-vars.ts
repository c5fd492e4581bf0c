// Variables read from the environment: `vars: { token: { from_env: DEPLOY_TOKEN, secret: true } }`
// or `--secret-var token=DEPLOY_TOKEN`. A secret's value is read at run and again at resume, is
// registered with the redactor (so it prints as ***), and is never stored: pgrunbook.runs keeps
// only the name of the environment variable it came from.
import { z } from 'zod';

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const envVarSpec = z
  .strictObject({
    from_env: z
      .string()
      .regex(ENV_NAME, { error: 'from_env names an environment variable: letters, digits and _' })
      .describe('Environment variable the value is read from, at run and at resume.'),
    secret: z.boolean().optional().describe('true: never stored, shown as *** everywhere.'),
  })
  .describe('A value read from the environment.');

/** How a secret variable is kept in pgrunbook.runs.vars: where to read it again, never its value. */
export interface StoredSecretRef {
  from_env: string;
  secret: true;
}

export type StoredVars = Record<string, string | StoredSecretRef>;

export function isSecretRef(v: unknown): v is StoredSecretRef {
  return !!v && typeof v === 'object' && typeof (v as StoredSecretRef).from_env === 'string' && (v as StoredSecretRef).secret === true;
}

/** What a run stores: plain values, and for each secret only the environment variable's name. */
export function storedVars(runbook: { vars: Record<string, string>; secretVars?: Record<string, string> }): StoredVars {
  const out: StoredVars = { ...runbook.vars };
  for (const [name, env] of Object.entries(runbook.secretVars ?? {})) out[name] = { from_env: env, secret: true };
  return out;
}

/** The reverse, for resume: --var overrides and --secret-var mappings. */
export function splitStoredVars(stored: StoredVars | null | undefined): {
  vars: Record<string, string>;
  secretVars: Record<string, string>;
} {
  const vars: Record<string, string> = {};
  const secretVars: Record<string, string> = {};
  for (const [k, v] of Object.entries(stored ?? {})) {
    if (isSecretRef(v)) secretVars[k] = v.from_env;
    else vars[k] = String(v);
  }
  return { vars, secretVars };
}
