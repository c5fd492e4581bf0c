-- Where one target ($2) of a fleet ($1) stands: its wave, status, run id and why.
UPDATE pgrunbook.fleet_targets SET wave = $3, status = $4, run_id = $5, reason = $6, updated_at = now()
 WHERE fleet_id = $1 AND name = $2
