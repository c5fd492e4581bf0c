-- A fleet-level event ($2 type, $3 the event) in the fleet's append-only log.
INSERT INTO pgrunbook.fleet_events (fleet_id, type, event) VALUES ($1, $2, $3)
