-- Gives the fleet's operator lock back and clears its holder row.
WITH gone AS (DELETE FROM pgrunbook.fleet_holders WHERE fleet_id = $2 AND backend_pid = pg_backend_pid())
SELECT pg_advisory_unlock($1, hashtext($2)) AS ok
