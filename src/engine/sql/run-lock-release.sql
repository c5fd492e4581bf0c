-- Releases the run lock of a runbook ($1 lock class, $2 runbook name) held by this session.
SELECT pg_advisory_unlock($1, hashtext($2))
