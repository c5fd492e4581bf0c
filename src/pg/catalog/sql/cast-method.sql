-- How PostgreSQL casts type $1 to type $2 (b binary coercible, f function, i I/O); no row: no cast.
SELECT castmethod::text AS m FROM pg_cast WHERE castsource = to_regtype($1) AND casttarget = to_regtype($2)
