-- Which of the extensions $1 the sandbox server can create.
select name::text from pg_available_extensions where name = any($1::text[])
