-- Takes the run lock of a runbook ($1 lock class, $2 runbook name) without waiting; false when held.
SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok
