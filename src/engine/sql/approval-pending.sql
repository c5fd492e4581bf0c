-- Open approval requests, oldest first, with the decisions given so far ($1: one run, or null for all).
SELECT q.request_id::text AS request_id, q.run_id, q.step_id, q.gate_id, q.needed, q.request,
       q.operator_user, q.operator_host, q.operator_role, q.requested_at,
       coalesce((
         SELECT json_agg(json_build_object('approved', d.approved, 'user', d.os_user, 'host', d.host,
                                           'role', d.db_role, 'reason', d.reason) ORDER BY d.decision_id)
         FROM pgrunbook.approval_decisions d WHERE d.request_id = q.request_id
       ), '[]'::json) AS decisions
FROM pgrunbook.approval_requests q
WHERE q.closed_at IS NULL AND ($1::text IS NULL OR q.run_id = $1)
ORDER BY q.requested_at, q.request_id
