-- The file node of relation $1 (a name): it changes when the relation is rewritten.
select relfilenode from pg_class where oid = $1::regclass
