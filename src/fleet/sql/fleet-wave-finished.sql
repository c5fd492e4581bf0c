-- A wave ($2) finished with this many targets completed ($3) and failed ($4).
UPDATE pgrunbook.fleet_waves SET finished_at = now(), completed = $3, failed = $4 WHERE fleet_id = $1 AND wave = $2
