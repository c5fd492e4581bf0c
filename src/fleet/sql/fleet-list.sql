-- Fleets, newest first; only the unfinished ones when $1 is true.
SELECT fleet_id, status, started_at FROM pgrunbook.fleets
 WHERE NOT $1 OR status <> 'completed'
 ORDER BY started_at DESC
 LIMIT 20
