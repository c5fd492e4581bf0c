-- A fleet's end ($2 completed | halted, $3 why it halted), or back to running on resume.
UPDATE pgrunbook.fleets SET status = $2, halt_reason = $3, updated_at = now() WHERE fleet_id = $1
