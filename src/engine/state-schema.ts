// The `pgrunbook` schema in the target database: runs, step states, an append-only event log,
// and the tables step kinds declare for themselves (StepKind.stateSql: the backfill cursors).
// Created on first use and migrated forward by version number.
import type pg from 'pg';

const V1 = `
CREATE TABLE IF NOT EXISTS pgrunbook.runs (
  run_id          text PRIMARY KEY,
  runbook_name    text NOT NULL,
  runbook_file    text NOT NULL,
  runbook_sha256  text NOT NULL,
  runbook_source  text NOT NULL,
  vars            jsonb NOT NULL DEFAULT '{}',
  phases          text[] NOT NULL,
  status          text NOT NULL CHECK (status IN ('running','completed','failed','aborted','interrupted')),
  started_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  os_user         text,
  host            text,
  pid             int,
  backend_pid     int,
  error           text
);
CREATE INDEX IF NOT EXISTS runs_by_name ON pgrunbook.runs (runbook_name, started_at DESC);

CREATE TABLE IF NOT EXISTS pgrunbook.step_states (
  run_id       text NOT NULL REFERENCES pgrunbook.runs ON DELETE CASCADE,
  phase        text NOT NULL,
  step_id      text NOT NULL,
  kind         text NOT NULL,
  status       text NOT NULL CHECK (status IN ('running','completed','failed','skipped','rolled_back')),
  attempt      int NOT NULL DEFAULT 1,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  result       jsonb,
  state        jsonb,
  error        text,
  PRIMARY KEY (run_id, phase, step_id)
);

CREATE TABLE IF NOT EXISTS pgrunbook.events (
  id       bigserial PRIMARY KEY,
  run_id   text NOT NULL,
  seq      int NOT NULL,
  at       timestamptz NOT NULL,
  type     text NOT NULL,
  step_id  text,
  os_user  text,
  host     text,
  payload  jsonb NOT NULL,
  UNIQUE (run_id, seq)
);

-- The event log is evidence: it only grows.
CREATE OR REPLACE FUNCTION pgrunbook.events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'pgrunbook.events is append-only';
END $$;
DROP TRIGGER IF EXISTS events_append_only ON pgrunbook.events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON pgrunbook.events
  FOR EACH ROW EXECUTE FUNCTION pgrunbook.events_append_only();
`;

// Second-person approval: a gate's request (with the evidence the operator saw) and each decision on it.
const V2 = `
CREATE TABLE IF NOT EXISTS pgrunbook.approval_requests (
  request_id     bigserial PRIMARY KEY,
  run_id         text NOT NULL REFERENCES pgrunbook.runs ON DELETE CASCADE,
  gate_id        text NOT NULL,
  step_id        text NOT NULL,
  needed         int NOT NULL CHECK (needed > 0),
  request        jsonb NOT NULL,
  operator_user  text NOT NULL,
  operator_host  text NOT NULL,
  operator_role  text NOT NULL,
  requested_at   timestamptz NOT NULL DEFAULT now(),
  closed_at      timestamptz,
  outcome        text CHECK (outcome IN ('approved', 'rejected', 'timed out'))
);
CREATE UNIQUE INDEX IF NOT EXISTS approval_requests_open ON pgrunbook.approval_requests (run_id, gate_id) WHERE closed_at IS NULL;

CREATE TABLE IF NOT EXISTS pgrunbook.approval_decisions (
  decision_id  bigserial PRIMARY KEY,
  request_id   bigint NOT NULL REFERENCES pgrunbook.approval_requests ON DELETE CASCADE,
  approved     boolean NOT NULL,
  reason       text,
  os_user      text NOT NULL,
  host         text NOT NULL,
  db_role      text NOT NULL,
  decided_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (request_id, os_user, db_role)
);
`;

/** Ordered migrations; index + 1 is the schema version. */
const MIGRATIONS: string[] = [V1, V2];

export const STATE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates or upgrades the schema, then runs `kindSql` (each kind's idempotent DDL for its own
 * tables). Serialised across concurrent runners by an advisory xact lock.
 */
export async function ensureStateSchema(db: pg.ClientBase, kindSql: readonly string[] = []): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL lock_timeout = '5s'`);
    await db.query(`SELECT pg_advisory_xact_lock(1347899970, 0)`);
    await db.query(`CREATE SCHEMA IF NOT EXISTS pgrunbook`);
    await db.query(`CREATE TABLE IF NOT EXISTS pgrunbook.meta (key text PRIMARY KEY, value text NOT NULL)`);
    const r = await db.query(`SELECT value FROM pgrunbook.meta WHERE key = 'schema_version'`);
    const current = r.rows.length ? Number(r.rows[0].value) : 0;
    if (current > STATE_SCHEMA_VERSION) {
      throw new Error(
        `the pgrunbook schema in this database is version ${current}, newer than this pgrunbook (${STATE_SCHEMA_VERSION}); upgrade pgrunbook`,
      );
    }
    for (let v = current; v < STATE_SCHEMA_VERSION; v++) await db.query(MIGRATIONS[v]!);
    for (const sql of new Set(kindSql)) await db.query(sql);
    await db.query(
      `INSERT INTO pgrunbook.meta (key, value) VALUES ('schema_version', $1)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [String(STATE_SCHEMA_VERSION)],
    );
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
