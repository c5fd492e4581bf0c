-- Volatility of the functions named $1 (in schema $2, else on the search path), and whether each
-- overload accepts $3 arguments.
SELECT p.provolatile::text AS provolatile,
       (p.pronargs = $3 OR (p.provariadic <> 0 AND p.pronargs <= $3 + 1) OR (p.pronargs >= $3 AND p.pronargs - p.pronargdefaults <= $3)) AS fits
  FROM pg_proc p
 WHERE p.proname = $1
   AND ($2::text IS NULL AND p.pronamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY (current_schemas(true)))
        OR p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $2::text))
