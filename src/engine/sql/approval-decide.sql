-- One person's decision on an open request. The operator's own identity (same OS user and login
-- role) is refused here too, and a second decision by the same person changes nothing.
INSERT INTO pgrunbook.approval_decisions (request_id, approved, reason, os_user, host, db_role)
SELECT q.request_id, $2, $3, $4, $5, session_user
FROM pgrunbook.approval_requests q
WHERE q.request_id = $1::bigint AND q.closed_at IS NULL
  AND NOT (q.operator_user = $4 AND q.operator_role = session_user)
ON CONFLICT (request_id, os_user, db_role) DO NOTHING
RETURNING decision_id::text AS decision_id, (SELECT run_id FROM pgrunbook.approval_requests WHERE request_id = $1::bigint) AS run_id
