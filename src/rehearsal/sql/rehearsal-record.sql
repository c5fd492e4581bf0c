-- Stores a completed rehearsal's projection for plan and the deploy gate.
INSERT INTO pgrunbook.rehearsals (runbook_key, runbook_name, sample_pct, sandbox, os_user, host, projection)
VALUES ($1, $2, $3, $4, $5, $6, $7)
