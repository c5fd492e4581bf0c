-- The export's query is running with its snapshot taken (the build will wait for it).
SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND backend_xmin IS NOT NULL
