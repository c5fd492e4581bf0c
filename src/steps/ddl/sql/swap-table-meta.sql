-- swap_table: owner, and what would stop a swap: row-level security, inheritance, user triggers
-- ($1 = table oid). Its grants come from swap-grants.sql, shared with the dependent views.
select pg_get_userbyid(c.relowner) as owner, c.relrowsecurity as rls, c.relhassubclass as children,
       exists (select 1 from pg_inherits where inhrelid = c.oid) as inherits,
       (select coalesce(array_agg(tgname::text), '{}') from pg_trigger
         where tgrelid = c.oid and not tgisinternal and tgname not like 'pgrunbook_swap%') as triggers
  from pg_class c
 where c.oid = $1
