-- The cluster's system identifier: tells a sandbox URL that points back at the source (needs superuser or pg_monitor on some installations).
select system_identifier::text as id from pg_control_system()
