-- Pages of a table ($1 OID) and every descendant (partitions hold the rows): heap, indexes, TOAST,
-- summed reltuples, and whether any of them is ACCESS EXCLUSIVE locked (granted or pending).
WITH RECURSIVE tree(oid) AS (SELECT $1::oid UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
SELECT coalesce(sum(c.relpages), 0)::float8 AS heap,
       coalesce((SELECT sum(ic.relpages) FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid IN (SELECT oid FROM tree)), 0)::float8 AS idx,
       coalesce(sum(tc.relpages), 0)::float8 AS toast,
       coalesce(sum(CASE WHEN c.reltuples >= 0 THEN c.reltuples END), 0)::float8 AS tuples,
       bool_or(EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = c.oid AND l.mode = 'AccessExclusiveLock')) AS ael
  FROM tree t
  JOIN pg_class c ON c.oid = t.oid
  LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
