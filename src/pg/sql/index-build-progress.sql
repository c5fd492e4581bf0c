-- The progress of the index build on table $1 (oid) that builds index $2 (qualified name), or of
-- any build on the table while the index does not exist yet.
select p.phase, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total, p.lockers_done, p.lockers_total, p.current_locker_pid
  from pg_stat_progress_create_index p
 where p.relid = $1
   and (p.index_relid = coalesce(to_regclass($2)::oid, 0) or p.index_relid = 0)
 limit 1
