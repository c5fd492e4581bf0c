-- The highest event number journaled for a run.
select max(seq) m from pgrunbook.events where run_id = $1
