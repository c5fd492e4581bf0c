-- The demo's server preloads pg_stat_statements; creating the extension in the demo database makes
-- the backfill's app_latency throttle watch the synthetic traffic.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements
