-- Has any rehearsal been stored here, and may this role read it?
SELECT to_regclass('pgrunbook.rehearsals') IS NOT NULL
   AND has_table_privilege(to_regclass('pgrunbook.rehearsals'), 'SELECT') AS present
