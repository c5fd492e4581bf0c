-- Exact bytes of a table ($1 OID) and its descendants from the size functions. These take
-- AccessShareLock: run only when no ACCESS EXCLUSIVE lock is granted or pending.
WITH RECURSIVE tree(oid) AS (SELECT $1::oid UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
SELECT coalesce(sum(pg_table_size(oid)), 0)::float8 AS t, coalesce(sum(pg_indexes_size(oid)), 0)::float8 AS i FROM tree
