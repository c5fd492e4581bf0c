-- Version, time zone and role (primary or standby) of the server.
SELECT current_setting('server_version') AS v, current_setting('server_version_num')::int AS n,
       current_setting('TimeZone') AS tz, pg_is_in_recovery() AS rec
