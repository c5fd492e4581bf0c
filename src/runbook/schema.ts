// The runbook format, version 1, as zod schemas. The loader validates field by field with these
// (so it can point at each problem); runbookSchema() assembles them, with every registered step
// kind, into one schema for `pgrunbook schema` and editor completion.
import { z } from 'zod';
import { GATE_LEVELS, type GateLevel, PHASES } from './model.js';
import { zDuration } from './durations.js';
import type { KindTable } from './kind-table.js';
import { envVarSpec } from './secret-vars.js';
import { fleetSectionSchema } from './fleet-section.js';

export const FORMAT_VERSION = 1;
export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VAR_NAME_ENV = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const STEP_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const LOCK_TIMEOUT_ZERO =
  'lock_timeout 0 means "wait for the lock forever": a DDL statement queued behind a long transaction would block every later query on the table. Use a short timeout such as 2s and let ddl_retries retry';

export const settingsFields = {
  lock_timeout: zDuration({ positive: true, zeroMessage: LOCK_TIMEOUT_ZERO }).describe(
    'Longest wait for a lock before a statement gives up and is retried (e.g. 2s). Never 0.',
  ),
  statement_timeout: zDuration().describe('Longest run time of one statement (e.g. 30s); 0 = no limit.'),
  ddl_retries: z
    .number({ error: (iss) => `expected a whole number of retries, got ${JSON.stringify(iss.input)}` })
    .int({ error: 'expected a whole number of retries' })
    .min(0, { error: (iss) => `cannot be negative, got ${String(iss.input)}` })
    .max(1000)
    .describe('Retries on lock_not_available (55P03), with backoff and jitter, before asking the operator.'),
} as const;

const notifyTarget = z.union([
  z.string().regex(/^(slack:|json:)?https?:\/\//, { error: 'expected an http(s) webhook URL, optionally prefixed slack: or json:' }),
  z
    .strictObject({
      url: z
        .string()
        .regex(/^https?:\/\//, { error: 'expected an http(s) URL' })
        .describe('Webhook URL (a secret: prefer url_env).'),
      url_env: z
        .string()
        .regex(VAR_NAME_ENV, { error: 'expected an environment variable name' })
        .describe('Environment variable that holds the webhook URL.'),
      format: z
        .enum(['slack', 'json'])
        .describe(
          'Payload: slack (incoming webhook, {"text": ...}) or json (pgrunbook\'s own fields). Default: slack for hooks.slack.com, else json.',
        ),
    })
    .partial()
    .refine((t) => (t.url === undefined) !== (t.url_env === undefined), { error: 'give exactly one of url and url_env' }),
]);

const approversField = z
  .number({ error: (iss) => `expected a whole number of approvers, got ${JSON.stringify(iss.input)}` })
  .int({ error: 'expected a whole number of approvers' })
  .min(0, { error: 'cannot be negative' })
  .max(5, { error: 'at most 5 approvers' });

/** `gate: confirm`, read as { level }. */
export const gateLevelField = z.enum(GATE_LEVELS).transform((level) => ({ level, approvers: undefined as number | undefined }));

/** `gate: { type: confirm, approvers: 1 }`, read as { level, approvers }. */
export const gateObjectField = z
  .strictObject({
    type: z.enum(['confirm', 'type']).optional().describe('confirm or type; default from the step kind (at least confirm).'),
    approvers: approversField.describe('People other than the operator who must approve (`pgrunbook approve`); 0 = none.'),
  })
  .transform((g) => ({ level: g.type as GateLevel | undefined, approvers: g.approvers as number | undefined }));

/** Runbook-wide settings that no step overrides (integrations). */
export const runbookSettingsFields = {
  notify: z
    .array(notifyTarget)
    .describe('Webhooks told about gates, approvals, failures, long throttles, the point of no return and the end of the run.'),
  notify_throttled_after: zDuration({ positive: true, zeroMessage: 'use a positive duration such as 10m' }).describe(
    'Announce a backfill throttled for this long without a break (default 10m).',
  ),
  approvals: approversField.describe(
    "People other than the operator who must approve each irreversible step (type gate) with `pgrunbook approve`; a step's gate: { approvers: N } overrides it.",
  ),
  approval_timeout: zDuration({ positive: true, zeroMessage: 'omit approval_timeout to wait for approvers without a limit' }).describe(
    'How long a gate waits for its approvers before the run stops (resumable); default: no limit.',
  ),
} as const;

export const stepCommonFields = {
  id: z
    .string()
    .max(63, { error: 'a step id is at most 63 characters' })
    .regex(STEP_ID, { error: (iss) => `bad step id ${JSON.stringify(iss.input)}: use letters, digits, "_", "-" and "." (no spaces)` })
    .describe('Unique step id across all phases (journal and resume key).'),
  title: z.string().describe('Short title shown to the operator.'),
  why: z.string().describe('Why this step is done this way (shown to the operator).'),
  gate: z
    .union([gateLevelField, gateObjectField])
    .describe(
      'Confirmation before the step: none, confirm, or type (retype a name), or { type, approvers: N } for a second-person approval. Default from the step kind.',
    ),
  rollback: z.string().min(1).describe('SQL that undoes the step, run in the rollback phase.'),
  timeout: zDuration({ positive: true, zeroMessage: 'timeout 0 would fail at once: omit timeout for no limit' }).describe(
    'Longest time the whole step may take.',
  ),
  when: z
    .union(
      [
        z.boolean(),
        z
          .string()
          .trim()
          .toLowerCase()
          .pipe(z.enum(['true', 'false', 'yes', 'no', 'on', 'off', '1', '0'])),
      ],
      {
        error: (iss) => `expected true or false (usually "{{ some_var }}"), got ${JSON.stringify(iss.input)}`,
      },
    )
    .transform((v) => (typeof v === 'boolean' ? v : ['true', 'yes', 'on', '1'].includes(v)))
    .describe('Include the step only when this is true, e.g. "{{ index }}"; a false value leaves the step out of the run.'),
  ...settingsFields,
} as const;

export const varValue = z
  .union([z.string(), z.number(), z.boolean(), z.null(), envVarSpec], {
    error: (iss) =>
      `a variable's value is a single string or number, or { from_env: ENV_NAME, secret: true }, got ${Array.isArray(iss.input) ? 'a list' : 'a different mapping'}`,
  })
  .describe('Default value; null = must be given with --var (or --secret-var); {from_env, secret} = read from the environment.');

export const topFields = {
  version: z
    .literal(FORMAT_VERSION, {
      error: (iss) =>
        typeof iss.input === 'number'
          ? `unsupported version ${iss.input}: this pgrunbook reads version 1 runbooks`
          : `version must be the number 1 (write \`version: 1\`), got ${JSON.stringify(iss.input)}`,
    })
    .describe('Runbook format version. Always 1.'),
  name: z.string().min(1).describe('Name of the change.'),
  description: z.string().describe('What the change does.'),
  vars: z
    .record(z.string().regex(VAR_NAME), varValue)
    .describe('Variables with their defaults; referenced as {{ name }}; overridden with --var name=value.'),
  settings: z
    .strictObject(optionalAll({ ...settingsFields, ...runbookSettingsFields }))
    .describe('Defaults for every step, and runbook-wide integrations.'),
  fleet: fleetSectionSchema,
} as const;

export const REQUIRED_TOP_KEYS = ['version', 'name', 'phases'] as const;
export const TOP_KEYS = [...Object.keys(topFields), 'phases'];

function optionalAll<T extends Record<string, z.ZodType>>(shape: T): { [K in keyof T]: z.ZodOptional<T[K]> } {
  return Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.optional()])) as any;
}

/** JSON Schema of one zod schema (draft-07, which editors support best), input side. */
function json(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/**
 * The whole format as JSON Schema, for `pgrunbook schema` and editor completion: one step variant
 * per registered kind (the common keys plus that kind's key), under readable definitions.
 */
export function runbookJsonSchema(kinds: KindTable): Record<string, unknown> {
  const { id, ...rest } = stepCommonFields;
  const common = { id, ...optionalAll(rest) };
  const names = [...kinds.keys()].sort();
  const definitions: Record<string, unknown> = {};
  for (const name of names) {
    definitions[`step_${name}`] = {
      ...json(z.strictObject({ ...common, [name]: kinds.get(name)!.schema })),
      description: `A \`${name}\` step.`,
    };
  }
  definitions.step = { anyOf: names.map((n) => ({ $ref: `#/definitions/step_${n}` })) };
  definitions.steps = { anyOf: [{ type: 'array', items: { $ref: '#/definitions/step' } }, { type: 'null' }] };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'pgrunbook runbook',
    description: 'A pgrunbook runbook (format version 1).',
    type: 'object',
    properties: {
      version: json(topFields.version),
      name: json(topFields.name),
      description: json(topFields.description),
      vars: json(topFields.vars),
      settings: json(topFields.settings),
      fleet: json(topFields.fleet),
      phases: {
        type: 'object',
        description: 'Steps per phase: plan, test, deploy, monitor, rollback.',
        properties: Object.fromEntries(PHASES.map((p) => [p, { $ref: '#/definitions/steps' }])),
        additionalProperties: false,
      },
    },
    required: [...REQUIRED_TOP_KEYS],
    additionalProperties: false,
    definitions,
  };
}
