-- Event triggers need a superuser.
select rolsuper as su from pg_roles where rolname = current_user
