-- The columns COPY can write, in table order: generated columns are left out.
select attname as name
  from pg_attribute
 where attrelid = $1 and attnum > 0 and not attisdropped and attgenerated = ''
 order by attnum
