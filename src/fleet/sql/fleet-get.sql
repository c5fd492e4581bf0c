-- One fleet by id ($1).
SELECT fleet_id, request, runbook_source, status, halt_reason, started_at FROM pgrunbook.fleets WHERE fleet_id = $1
