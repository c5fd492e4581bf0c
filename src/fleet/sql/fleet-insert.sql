-- A new fleet ($1 id, $2 request, $3 runbook text) and its targets in order ($4: [{name, url, labels, vars}]).
WITH f AS (
  INSERT INTO pgrunbook.fleets (fleet_id, request, runbook_source, status) VALUES ($1, $2, $3, 'running')
  RETURNING fleet_id
)
INSERT INTO pgrunbook.fleet_targets (fleet_id, name, position, url, labels, vars)
SELECT f.fleet_id, t.name, e.ord::int, t.url, t.labels, t.vars
  FROM f, jsonb_array_elements($4::jsonb) WITH ORDINALITY AS e(v, ord),
       jsonb_to_record(e.v) AS t(name text, url text, labels jsonb, vars jsonb)
