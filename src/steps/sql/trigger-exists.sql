-- Whether the table ($1, an OID) has the trigger named $2: change_column's sync trigger, before contract.
select exists (select 1 from pg_trigger where tgrelid = $1 and tgname = $2) as e
