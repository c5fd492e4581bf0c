-- Drops the standby's slot once nobody streams from it (else it would keep WAL on the primary for ever).
select pg_drop_replication_slot(slot_name) as dropped
  from pg_replication_slots
 where slot_name = $1 and not active
