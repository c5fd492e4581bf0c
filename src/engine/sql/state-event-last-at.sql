-- When the run's last journaled event happened.
select max(at)::text at from pgrunbook.events where run_id = $1
