-- A fleet's logged events, oldest first.
SELECT at, event FROM pgrunbook.fleet_events WHERE fleet_id = $1 ORDER BY seq
