-- This session now holds the fleet ($1): who, where, which process and backend.
INSERT INTO pgrunbook.fleet_holders (fleet_id, os_user, host, pid, backend_pid, since)
VALUES ($1, $2, $3, $4, pg_backend_pid(), now())
ON CONFLICT (fleet_id) DO UPDATE
   SET os_user = EXCLUDED.os_user, host = EXCLUDED.host, pid = EXCLUDED.pid, backend_pid = EXCLUDED.backend_pid, since = EXCLUDED.since
