-- The fleet's journal in the catalog database: one row per fleet, its targets, its waves, its
-- fleet-level events (gate decisions among them) and the operator holding it. The advisory lock
-- serialises two first runs creating the tables at once.
SELECT pg_advisory_xact_lock(1347899974, 0);
CREATE SCHEMA IF NOT EXISTS pgrunbook;
CREATE TABLE IF NOT EXISTS pgrunbook.fleets (
  fleet_id        text PRIMARY KEY,
  request         jsonb NOT NULL,
  runbook_source  text NOT NULL,
  status          text NOT NULL CHECK (status IN ('running','completed','halted')),
  halt_reason     text,
  started_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS pgrunbook.fleet_targets (
  fleet_id    text NOT NULL REFERENCES pgrunbook.fleets ON DELETE CASCADE,
  name        text NOT NULL,
  position    int NOT NULL,
  url         text NOT NULL,
  labels      jsonb NOT NULL DEFAULT '{}',
  vars        jsonb NOT NULL DEFAULT '{}',
  wave        int,
  status      text NOT NULL DEFAULT 'pending',
  run_id      text,
  reason      text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fleet_id, name)
);
CREATE TABLE IF NOT EXISTS pgrunbook.fleet_waves (
  fleet_id     text NOT NULL REFERENCES pgrunbook.fleets ON DELETE CASCADE,
  wave         int NOT NULL,
  targets      int NOT NULL,
  parallel     int NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  completed    int,
  failed       int,
  PRIMARY KEY (fleet_id, wave)
);
CREATE TABLE IF NOT EXISTS pgrunbook.fleet_events (
  fleet_id  text NOT NULL REFERENCES pgrunbook.fleets ON DELETE CASCADE,
  seq       bigserial,
  at        timestamptz NOT NULL DEFAULT now(),
  type      text NOT NULL,
  event     jsonb NOT NULL,
  PRIMARY KEY (fleet_id, seq)
);
CREATE TABLE IF NOT EXISTS pgrunbook.fleet_holders (
  fleet_id     text PRIMARY KEY REFERENCES pgrunbook.fleets ON DELETE CASCADE,
  os_user      text NOT NULL,
  host         text NOT NULL,
  pid          int NOT NULL,
  backend_pid  int NOT NULL,
  since        timestamptz NOT NULL DEFAULT now()
);
