-- A fleet's targets in their order, with where each stands.
SELECT name, url, labels, vars, wave, status, run_id, reason, updated_at
  FROM pgrunbook.fleet_targets WHERE fleet_id = $1 ORDER BY position
