-- The long-transaction drill's "nightly export": it reads a catalog table, not orders (an aborted
-- build's cleanup, DROP INDEX CONCURRENTLY, would wait for a lock on orders), and it runs for longer
-- than any lesson; a concurrent index build waits for its snapshot all the same.
SELECT count(*) FROM pg_class, pg_sleep(3600)
