-- A fleet's waves as far as they got.
SELECT wave, targets, parallel, started_at, finished_at, completed, failed
  FROM pgrunbook.fleet_waves WHERE fleet_id = $1 ORDER BY wave
