-- A wave ($2) started, with its size and pool; a resumed fleet starts it again.
INSERT INTO pgrunbook.fleet_waves (fleet_id, wave, targets, parallel) VALUES ($1, $2, $3, $4)
ON CONFLICT (fleet_id, wave) DO UPDATE SET started_at = now(), finished_at = NULL, completed = NULL, failed = NULL
