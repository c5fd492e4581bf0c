-- The columns of a migration tool's history table ($1, a name); none when the table does not exist.
SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped
