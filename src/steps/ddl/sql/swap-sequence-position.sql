-- swap_table: the last value a sequence handed out, or its start when it never did ($1 = quoted name).
select coalesce(pg_sequence_last_value(s.seqrelid), s.seqstart)::text as last
  from pg_sequence s
 where s.seqrelid = to_regclass($1)
