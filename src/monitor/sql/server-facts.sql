-- What the monitor needs once per pool: the server version (which probe files apply), the role it
-- runs as (for grant hints) and its statement_timeout (for timeout notes).
select current_setting('server_version_num') as n,
       current_user as u,
       current_setting('statement_timeout') as st;
