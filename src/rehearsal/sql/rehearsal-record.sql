-- Stores a completed rehearsal's projection for plan and the deploy gate, with the touched tables' sizes then.
INSERT INTO pgrunbook.rehearsals (runbook_key, runbook_name, sample_pct, sandbox, os_user, host, projection, source_tables)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
