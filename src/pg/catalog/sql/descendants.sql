-- Partitions (at any depth) and inheritance children of a table ($1 OID).
WITH RECURSIVE tree(oid, parent, depth) AS (
  SELECT inhrelid, inhparent, 1 FROM pg_inherits WHERE inhparent = $1::oid
  UNION ALL
  SELECT i.inhrelid, i.inhparent, t.depth + 1 FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid WHERE t.depth < 20)
SELECT c.oid::int8 AS oid, c.oid::regclass::text AS regclass, c.relkind::text AS relkind, c.relispartition AS is_partition,
       t.parent = $1::oid AS direct, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default
  FROM tree t JOIN pg_class c ON c.oid = t.oid
 ORDER BY t.depth, c.oid
