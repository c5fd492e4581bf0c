-- Rehearsal projections, one row per completed rehearsal, found again by the hash of the runbook
-- text and its variables (runbook_key) so plan and the deploy gate can show them.
CREATE TABLE IF NOT EXISTS pgrunbook.rehearsals (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  runbook_key   text NOT NULL,
  runbook_name  text NOT NULL,
  rehearsed_at  timestamptz NOT NULL DEFAULT now(),
  sample_pct    double precision NOT NULL,
  sandbox       text NOT NULL,
  os_user       text,
  host          text,
  projection    jsonb NOT NULL
)
;
-- The touched tables' sizes when the rehearsal ran (planner statistics), to tell when a projection no longer fits.
ALTER TABLE pgrunbook.rehearsals ADD COLUMN IF NOT EXISTS source_tables jsonb
