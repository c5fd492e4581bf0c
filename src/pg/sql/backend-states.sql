-- What the server says each of pgrunbook's sessions is doing, by backend pid (the stall watchdog).
SELECT pid, state FROM pg_stat_activity WHERE pid = ANY($1::int[])
