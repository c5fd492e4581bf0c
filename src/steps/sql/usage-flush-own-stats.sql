-- Run in each idle session of pgrunbook's own pool. PostgreSQL 14: a session sends its pending table
-- counters to the statistics collector when a transaction ends at least 500 ms after its last report,
-- so this empty transaction (sent after such a wait) sends them.
SELECT 1
