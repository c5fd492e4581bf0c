-- Takes the fleet's operator lock ($1 lock class, $2 fleet id) on this session without waiting.
SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok
