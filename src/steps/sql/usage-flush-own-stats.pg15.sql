-- Run in each idle session of pgrunbook's own pool. PostgreSQL 15+: the session writes its pending
-- table counters to shared memory when it goes idle after this statement (otherwise up to 10 s later).
SELECT pg_stat_force_next_flush()
