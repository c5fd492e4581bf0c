-- The standby's physical slot, reserving WAL from now: the copy's start point stays on the primary
-- until the standby has streamed it, however long the copy takes.
select pg_create_physical_replication_slot($1, true)
