UPDATE pgrunbook.approval_requests
SET closed_at = now(), outcome = $2
WHERE request_id = $1::bigint AND closed_at IS NULL
