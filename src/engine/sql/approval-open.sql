-- The gate's open approval request, made when there is none. A resumed run finds the request its
-- previous process left open, with the decisions given meanwhile. Only the run holding the run
-- lock calls this for its run, so the two halves cannot race.
WITH found AS (
  SELECT request_id FROM pgrunbook.approval_requests
  WHERE run_id = $1 AND gate_id = $2 AND closed_at IS NULL
), made AS (
  INSERT INTO pgrunbook.approval_requests (run_id, gate_id, step_id, needed, request, operator_user, operator_host, operator_role)
  SELECT $1, $2, $3, $4, $5, $6, $7, session_user
  WHERE NOT EXISTS (SELECT 1 FROM found)
  RETURNING request_id
)
SELECT request_id::text AS request_id, session_user::text AS role FROM found
UNION ALL
SELECT request_id::text, session_user::text FROM made
