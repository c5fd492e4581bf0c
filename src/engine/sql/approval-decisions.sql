SELECT decision_id::text AS decision_id, approved, reason, os_user, host, db_role,
       to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS decided_at
FROM pgrunbook.approval_decisions
WHERE request_id = $1::bigint
ORDER BY decision_id
