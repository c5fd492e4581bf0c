// The statements `analyze` is verified against on real PostgreSQL (test/analyze/empirical.test.ts,
// bench/analysis-agreement.ts). Each runs on the fixture below; transactional ones are rolled back,
// the others are undone by `cleanup`. The first list grew with the analyzer; the broader one built
// from the PostgreSQL reference pages is in corpus-docs.ts.
import { DOCS_CORPUS, docsFixtureSql } from './corpus-docs.js';

export interface CorpusEntry {
  id: string;
  family:
    | 'add column'
    | 'column type'
    | 'not null'
    | 'column & table'
    | 'constraints'
    | 'indexes'
    | 'storage & options'
    | 'other ddl'
    | 'partitions'
    | 'sequences'
    | 'dml & locks';
  sql: string;
  minMajor?: number;
  /** Session TimeZone to run it under (the analyzer is told the same). */
  timeZone?: string;
  /** Restores the fixture after a statement that cannot be rolled back. */
  cleanup?: string;
}

/** Run after the fixture, on its own (VACUUM cannot run in the fixture's implicit transaction). */
export const FIXTURE_FINISH = 'VACUUM ANALYZE';

export function fixtureSql(major: number): string {
  return `
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE FUNCTION noop_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;

CREATE TABLE parent_t (id int PRIMARY KEY, code text);
INSERT INTO parent_t SELECT g, 'c' || g FROM generate_series(1, 100) g;
INSERT INTO parent_t VALUES (1000, 'unreferenced');

CREATE TABLE t (
  id bigint PRIMARY KEY,
  name varchar(50),
  amount numeric(10,2) CONSTRAINT t_amount_check CHECK (amount >= 0),
  created timestamp,
  created_tz timestamptz,
  ref_id int CONSTRAINT t_ref_id_fkey REFERENCES parent_t(id),
  status text,
  note text,
  code char(5),
  flag boolean,
  counter int NOT NULL DEFAULT 0,
  payload jsonb
);
INSERT INTO t SELECT g, 'name' || g, g % 1000, now(), now(), 1 + g % 100, 'happy', CASE WHEN g % 2 = 0 THEN 'n' END, 'abcde', true, 0, '{}'
  FROM generate_series(1, 5000) g;
CREATE INDEX t_name_idx ON t (name);
ALTER TABLE t ADD CONSTRAINT t_note_check CHECK (length(note) < 100) NOT VALID;
ALTER TABLE t ADD CONSTRAINT t_ref_nv_fkey FOREIGN KEY (ref_id) REFERENCES parent_t(id) NOT VALID;
CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION noop_trigger();
CREATE VIEW t_view AS SELECT id FROM t;
CREATE MATERIALIZED VIEW t_mv AS SELECT id FROM t;
CREATE UNIQUE INDEX t_mv_id ON t_mv (id);

CREATE TABLE nn (id int PRIMARY KEY, a text, b text, c text, CONSTRAINT nn_a_not_null CHECK (a IS NOT NULL));
INSERT INTO nn SELECT g, 'a', 'b', 'c' FROM generate_series(1, 1000) g;
ALTER TABLE nn ADD CONSTRAINT nn_b_nv CHECK (b IS NOT NULL) NOT VALID;
${major >= 18 ? 'ALTER TABLE nn ADD CONSTRAINT nn_c_nn NOT NULL c NOT VALID;' : ''}

CREATE TABLE plain (id int NOT NULL, v int, w text);
INSERT INTO plain SELECT g, g, 'w' || g FROM generate_series(1, 2000) g;
CREATE UNIQUE INDEX plain_id_uidx ON plain (id);
CREATE UNIQUE INDEX plain_v_uidx ON plain (v);
CREATE INDEX plain_w_idx ON plain (w);
CREATE UNLOGGED TABLE ulog (id int, v text);
INSERT INTO ulog SELECT g, 'v' FROM generate_series(1, 500) g;

CREATE TABLE events (id int NOT NULL, created date NOT NULL, v int) PARTITION BY RANGE (created);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events SELECT g, date '2024-01-01' + (g % 700), g FROM generate_series(1, 2000) g;
CREATE TRIGGER events_row_trg BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION noop_trigger();
CREATE TABLE events_2026 (id int NOT NULL, created date NOT NULL, v int);
INSERT INTO events_2026 SELECT g, date '2026-01-01' + g % 300, g FROM generate_series(1, 500) g;
CREATE TABLE events_2027 (id int NOT NULL, created date NOT NULL, v int,
  CONSTRAINT events_2027_bound CHECK (created >= '2027-01-01' AND created < '2028-01-01'));

CREATE TABLE logs (id int, kind text) PARTITION BY LIST (kind);
CREATE TABLE logs_a PARTITION OF logs FOR VALUES IN ('a');
CREATE TABLE logs_default PARTITION OF logs DEFAULT;
INSERT INTO logs SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'z' END FROM generate_series(1, 1000) g;
CREATE TABLE logs_b (id int, kind text);
INSERT INTO logs_b SELECT g, 'b' FROM generate_series(1, 100) g;
${docsFixtureSql()}`;
}

const E = (id: string, family: CorpusEntry['family'], sql: string, extra: Partial<CorpusEntry> = {}): CorpusEntry => ({
  id,
  family,
  sql,
  ...extra,
});

export const CORPUS: CorpusEntry[] = [
  // ADD COLUMN
  E('add-col-plain', 'add column', 'ALTER TABLE t ADD COLUMN c1 int'),
  E('add-col-const-default', 'add column', 'ALTER TABLE t ADD COLUMN c1 int DEFAULT 42'),
  E('add-col-not-null-const-default', 'add column', 'ALTER TABLE t ADD COLUMN c1 int NOT NULL DEFAULT 0'),
  E('add-col-stable-default', 'add column', 'ALTER TABLE t ADD COLUMN c1 timestamptz DEFAULT now()'),
  E('add-col-volatile-default', 'add column', 'ALTER TABLE t ADD COLUMN c1 float8 DEFAULT random()'),
  E('add-col-uuid-default', 'add column', 'ALTER TABLE t ADD COLUMN c1 uuid DEFAULT gen_random_uuid()'),
  E('add-col-clock-default', 'add column', 'ALTER TABLE t ADD COLUMN c1 timestamptz NOT NULL DEFAULT clock_timestamp()'),
  E('add-col-serial', 'add column', 'ALTER TABLE t ADD COLUMN c1 serial'),
  E('add-col-bigserial', 'add column', 'ALTER TABLE t ADD COLUMN c1 bigserial'),
  E('add-col-identity', 'add column', 'ALTER TABLE t ADD COLUMN c1 int GENERATED ALWAYS AS IDENTITY'),
  E('add-col-generated-stored', 'add column', 'ALTER TABLE t ADD COLUMN c1 numeric GENERATED ALWAYS AS (amount * 2) STORED'),
  E('add-col-generated-virtual', 'add column', 'ALTER TABLE t ADD COLUMN c1 numeric GENERATED ALWAYS AS (amount * 2) VIRTUAL', {
    minMajor: 18,
  }),
  E('add-col-fk', 'add column', 'ALTER TABLE t ADD COLUMN c1 int REFERENCES parent_t(id)'),
  E('add-col-unique', 'add column', 'ALTER TABLE t ADD COLUMN c1 int UNIQUE'),
  E('add-col-check', 'add column', 'ALTER TABLE t ADD COLUMN c1 int CHECK (c1 > 0)'),
  E('add-col-domain', 'add column', 'ALTER TABLE t ADD COLUMN c1 posint'),
  E('add-col-enum-default', 'add column', "ALTER TABLE t ADD COLUMN c1 mood DEFAULT 'happy'"),
  E('add-col-if-not-exists', 'add column', 'ALTER TABLE t ADD COLUMN IF NOT EXISTS name varchar(50)'),
  E('add-col-partitioned', 'add column', 'ALTER TABLE events ADD COLUMN c1 int'),
  E('add-col-partitioned-volatile', 'add column', 'ALTER TABLE events ADD COLUMN c1 float8 DEFAULT random()'),

  // ALTER COLUMN TYPE
  E('type-varchar-widen', 'column type', 'ALTER TABLE t ALTER COLUMN name TYPE varchar(100)'),
  E('type-varchar-to-text', 'column type', 'ALTER TABLE t ALTER COLUMN name TYPE text'),
  E('type-varchar-shrink', 'column type', 'ALTER TABLE t ALTER COLUMN name TYPE varchar(20)'),
  E('type-text-to-varchar-n', 'column type', 'ALTER TABLE t ALTER COLUMN status TYPE varchar(20)'),
  E('type-text-to-varchar', 'column type', 'ALTER TABLE t ALTER COLUMN status TYPE varchar'),
  E('type-same', 'column type', 'ALTER TABLE t ALTER COLUMN name TYPE varchar(50)'),
  E('type-numeric-precision-up', 'column type', 'ALTER TABLE t ALTER COLUMN amount TYPE numeric(12,2)'),
  E('type-numeric-unconstrained', 'column type', 'ALTER TABLE t ALTER COLUMN amount TYPE numeric'),
  E('type-numeric-scale', 'column type', 'ALTER TABLE t ALTER COLUMN amount TYPE numeric(12,4)'),
  E('type-int-to-bigint', 'column type', 'ALTER TABLE t ALTER COLUMN counter TYPE bigint'),
  E('type-ts-to-tstz-utc', 'column type', 'ALTER TABLE t ALTER COLUMN created TYPE timestamptz', { timeZone: 'UTC' }),
  E('type-ts-to-tstz-berlin', 'column type', 'ALTER TABLE t ALTER COLUMN created TYPE timestamptz', { timeZone: 'Europe/Berlin' }),
  E('type-tstz-to-ts-utc', 'column type', 'ALTER TABLE t ALTER COLUMN created_tz TYPE timestamp', { timeZone: 'Etc/UTC' }),
  E('type-text-to-enum', 'column type', 'ALTER TABLE t ALTER COLUMN status TYPE mood USING status::mood'),
  E('type-char-to-text', 'column type', 'ALTER TABLE t ALTER COLUMN code TYPE text'),
  E('type-fk-column', 'column type', 'ALTER TABLE t ALTER COLUMN ref_id TYPE bigint'),
  E('type-referenced-key', 'column type', 'ALTER TABLE parent_t ALTER COLUMN id TYPE bigint'),

  // NOT NULL
  E('set-not-null', 'not null', 'ALTER TABLE t ALTER COLUMN status SET NOT NULL'),
  E('set-not-null-validated-check', 'not null', 'ALTER TABLE nn ALTER COLUMN a SET NOT NULL'),
  E('set-not-null-unvalidated-check', 'not null', 'ALTER TABLE nn ALTER COLUMN b SET NOT NULL'),
  E('set-not-null-already', 'not null', 'ALTER TABLE t ALTER COLUMN counter SET NOT NULL'),
  E('drop-not-null', 'not null', 'ALTER TABLE t ALTER COLUMN counter DROP NOT NULL'),
  E('set-not-null-partitioned', 'not null', 'ALTER TABLE events ALTER COLUMN v SET NOT NULL'),
  E('add-not-null-constraint-not-valid', 'not null', 'ALTER TABLE t ADD CONSTRAINT t_status_nn NOT NULL status NOT VALID', {
    minMajor: 18,
  }),
  E('add-not-null-constraint', 'not null', 'ALTER TABLE t ADD CONSTRAINT t_status_nn NOT NULL status', { minMajor: 18 }),
  E('validate-not-null-constraint', 'not null', 'ALTER TABLE nn VALIDATE CONSTRAINT nn_c_nn', { minMajor: 18 }),

  // Column and table changes
  E('set-default', 'column & table', "ALTER TABLE t ALTER COLUMN note SET DEFAULT 'x'"),
  E('set-default-volatile', 'column & table', 'ALTER TABLE t ALTER COLUMN note SET DEFAULT random()::text'),
  E('drop-default', 'column & table', 'ALTER TABLE t ALTER COLUMN counter DROP DEFAULT'),
  E('drop-column', 'column & table', 'ALTER TABLE t DROP COLUMN payload'),
  E('drop-column-indexed', 'column & table', 'ALTER TABLE t DROP COLUMN name'),
  E('multiple-subcommands', 'column & table', 'ALTER TABLE t ADD COLUMN c1 int, ALTER COLUMN status SET NOT NULL'),
  E('multiple-weak-subcommands', 'column & table', 'ALTER TABLE t ALTER COLUMN status SET STATISTICS 100, SET (fillfactor = 70)'),
  E('rename-column', 'column & table', 'ALTER TABLE t RENAME COLUMN note TO remark'),
  E('rename-table', 'column & table', 'ALTER TABLE plain RENAME TO plain2'),
  E('rename-index', 'column & table', 'ALTER INDEX t_name_idx RENAME TO t_name_idx2'),
  E('rename-constraint', 'column & table', 'ALTER TABLE t RENAME CONSTRAINT t_amount_check TO t_amount_chk'),

  // Constraints
  E('add-check', 'constraints', 'ALTER TABLE t ADD CONSTRAINT t_id_pos CHECK (id > 0)'),
  E('add-check-not-valid', 'constraints', 'ALTER TABLE t ADD CONSTRAINT t_id_pos CHECK (id > 0) NOT VALID'),
  E('validate-check', 'constraints', 'ALTER TABLE t VALIDATE CONSTRAINT t_note_check'),
  E('add-fk', 'constraints', 'ALTER TABLE t ADD CONSTRAINT t_ref2_fkey FOREIGN KEY (ref_id) REFERENCES parent_t(id)'),
  E('add-fk-not-valid', 'constraints', 'ALTER TABLE t ADD CONSTRAINT t_ref2_fkey FOREIGN KEY (ref_id) REFERENCES parent_t(id) NOT VALID'),
  E('validate-fk', 'constraints', 'ALTER TABLE t VALIDATE CONSTRAINT t_ref_nv_fkey'),
  E('add-unique', 'constraints', 'ALTER TABLE plain ADD CONSTRAINT plain_id_key UNIQUE (id)'),
  E('add-primary-key', 'constraints', 'ALTER TABLE plain ADD PRIMARY KEY (id)'),
  E('add-exclude', 'constraints', 'ALTER TABLE plain ADD CONSTRAINT plain_excl EXCLUDE USING btree (id WITH =)'),
  E('unique-using-index', 'constraints', 'ALTER TABLE plain ADD CONSTRAINT plain_id_key UNIQUE USING INDEX plain_id_uidx'),
  E('pk-using-index', 'constraints', 'ALTER TABLE plain ADD CONSTRAINT plain_pkey PRIMARY KEY USING INDEX plain_id_uidx'),
  E('pk-using-index-nullable', 'constraints', 'ALTER TABLE plain ADD CONSTRAINT plain_pkey PRIMARY KEY USING INDEX plain_v_uidx'),
  E('drop-check', 'constraints', 'ALTER TABLE t DROP CONSTRAINT t_amount_check'),
  E('drop-fk', 'constraints', 'ALTER TABLE t DROP CONSTRAINT t_ref_id_fkey'),

  // Indexes
  E('create-index', 'indexes', 'CREATE INDEX t_status_idx ON t (status)'),
  E('create-unique-index', 'indexes', 'CREATE UNIQUE INDEX t_id2_idx ON t (id)'),
  E('create-index-concurrently', 'indexes', 'CREATE INDEX CONCURRENTLY t_status_cidx ON t (status)', {
    cleanup: 'DROP INDEX IF EXISTS t_status_cidx',
  }),
  E('create-index-partitioned', 'indexes', 'CREATE INDEX events_v_idx ON events (v)'),
  E('create-index-on-only', 'indexes', 'CREATE INDEX events_v_only ON ONLY events (v)'),
  E('drop-index', 'indexes', 'DROP INDEX t_name_idx'),
  E('drop-index-concurrently', 'indexes', 'DROP INDEX CONCURRENTLY plain_w_idx', {
    cleanup: 'CREATE INDEX IF NOT EXISTS plain_w_idx ON plain (w)',
  }),
  E('reindex-index', 'indexes', 'REINDEX INDEX t_name_idx'),
  E('reindex-table', 'indexes', 'REINDEX TABLE plain'),
  E('reindex-index-concurrently', 'indexes', 'REINDEX INDEX CONCURRENTLY t_name_idx'),
  E('reindex-table-concurrently', 'indexes', 'REINDEX TABLE CONCURRENTLY plain'),
  E('reindex-partitioned-table', 'indexes', 'REINDEX TABLE events'),

  // Storage and table options
  E('set-fillfactor', 'storage & options', 'ALTER TABLE t SET (fillfactor = 80)'),
  E('set-autovacuum', 'storage & options', 'ALTER TABLE t SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_enabled = true)'),
  E('reset-options', 'storage & options', 'ALTER TABLE t RESET (fillfactor)'),
  E('set-statistics', 'storage & options', 'ALTER TABLE t ALTER COLUMN status SET STATISTICS 500'),
  E('set-column-options', 'storage & options', 'ALTER TABLE t ALTER COLUMN status SET (n_distinct = 10)'),
  E('set-storage', 'storage & options', 'ALTER TABLE t ALTER COLUMN note SET STORAGE EXTERNAL'),
  E('set-compression', 'storage & options', 'ALTER TABLE t ALTER COLUMN note SET COMPRESSION pglz'),
  E('set-unlogged', 'storage & options', 'ALTER TABLE plain SET UNLOGGED'),
  E('set-logged-noop', 'storage & options', 'ALTER TABLE plain SET LOGGED'),
  E('set-logged', 'storage & options', 'ALTER TABLE ulog SET LOGGED'),
  E('replica-identity-full', 'storage & options', 'ALTER TABLE t REPLICA IDENTITY FULL'),
  E('cluster-on', 'storage & options', 'ALTER TABLE plain CLUSTER ON plain_id_uidx'),
  E('vacuum-full', 'storage & options', 'VACUUM FULL plain'),
  E('vacuum', 'storage & options', 'VACUUM plain'),
  E('cluster', 'storage & options', 'CLUSTER plain USING plain_id_uidx'),
  E('truncate', 'storage & options', 'TRUNCATE plain'),
  E('analyze', 'storage & options', 'ANALYZE t'),

  // Other DDL
  E('create-trigger', 'other ddl', 'CREATE TRIGGER t_trg2 AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION noop_trigger()'),
  E('disable-trigger', 'other ddl', 'ALTER TABLE t DISABLE TRIGGER t_trg'),
  E('enable-trigger-all', 'other ddl', 'ALTER TABLE t ENABLE TRIGGER ALL'),
  E('drop-trigger', 'other ddl', 'DROP TRIGGER t_trg ON t'),
  E(
    'create-trigger-partitioned',
    'other ddl',
    'CREATE TRIGGER events_trg BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION noop_trigger()',
  ),
  E('disable-trigger-partitioned', 'other ddl', 'ALTER TABLE events DISABLE TRIGGER ALL'),
  E('enable-trigger-partitioned', 'other ddl', 'ALTER TABLE events ENABLE TRIGGER events_row_trg'),
  E('disable-trigger-partitioned-none', 'other ddl', 'ALTER TABLE logs DISABLE TRIGGER ALL'),
  E('enum-add-value', 'other ddl', "ALTER TYPE mood ADD VALUE 'meh'"),
  E('create-table', 'other ddl', 'CREATE TABLE newt (id int PRIMARY KEY, v text)'),
  E('create-table-fk', 'other ddl', 'CREATE TABLE newt (id int REFERENCES parent_t(id))'),
  E('create-table-like', 'other ddl', 'CREATE TABLE newt (LIKE t INCLUDING ALL)'),
  E('create-view', 'other ddl', 'CREATE VIEW t_view2 AS SELECT id, name FROM t'),
  E('create-or-replace-view', 'other ddl', 'CREATE OR REPLACE VIEW t_view AS SELECT id FROM t'),
  E('create-table-as', 'other ddl', 'CREATE TABLE t_copy AS SELECT * FROM t'),
  E('comment-table', 'other ddl', "COMMENT ON TABLE t IS 'orders'"),
  E('comment-column', 'other ddl', "COMMENT ON COLUMN t.note IS 'free text'"),
  E('grant', 'other ddl', 'GRANT SELECT ON t TO PUBLIC'),
  E('drop-table', 'other ddl', 'DROP TABLE plain'),
  E('drop-table-with-fk', 'other ddl', 'DROP TABLE t CASCADE'),
  E('drop-table-referenced', 'other ddl', 'DROP TABLE parent_t CASCADE'),
  E('drop-view', 'other ddl', 'DROP VIEW t_view'),
  E('refresh-matview', 'other ddl', 'REFRESH MATERIALIZED VIEW t_mv'),
  E('refresh-matview-concurrently', 'other ddl', 'REFRESH MATERIALIZED VIEW CONCURRENTLY t_mv'),
  E('enable-rls', 'other ddl', 'ALTER TABLE t ENABLE ROW LEVEL SECURITY'),

  // Partitions
  E('create-partition-of', 'partitions', "CREATE TABLE events_2026b PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')"),
  E('create-partition-of-with-default', 'partitions', "CREATE TABLE logs_c PARTITION OF logs FOR VALUES IN ('c')"),
  E('attach-partition', 'partitions', "ALTER TABLE events ATTACH PARTITION events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')"),
  E(
    'attach-partition-with-check',
    'partitions',
    "ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
  ),
  E('attach-partition-with-default', 'partitions', "ALTER TABLE logs ATTACH PARTITION logs_b FOR VALUES IN ('b')"),
  E('detach-partition', 'partitions', 'ALTER TABLE events DETACH PARTITION events_2025'),
  E('detach-partition-concurrently', 'partitions', 'ALTER TABLE events DETACH PARTITION events_2025 CONCURRENTLY', {
    cleanup: "ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
  }),

  // Data changes and locks
  E('update-all', 'dml & locks', "UPDATE t SET note = 'x'"),
  E('update-where-pk', 'dml & locks', "UPDATE t SET note = 'x' WHERE id = 42"),
  E('update-where-unindexed', 'dml & locks', "UPDATE t SET note = 'x' WHERE status = 'sad'"),
  E('delete-all', 'dml & locks', 'DELETE FROM t'),
  E('delete-where-pk', 'dml & locks', 'DELETE FROM t WHERE id = 42'),
  E('delete-referenced-row', 'dml & locks', 'DELETE FROM parent_t WHERE id = 1000'),
  E('insert', 'dml & locks', 'INSERT INTO t (id, counter) VALUES (100001, 1)'),
  E('lock-access-exclusive', 'dml & locks', 'LOCK TABLE t IN ACCESS EXCLUSIVE MODE'),
  E('lock-share', 'dml & locks', 'LOCK TABLE t IN SHARE MODE'),
  E('lock-partitioned', 'dml & locks', 'LOCK TABLE events IN SHARE UPDATE EXCLUSIVE MODE'),
  E('select-for-update', 'dml & locks', 'SELECT * FROM t WHERE id = 1 FOR UPDATE'),
];

export function corpusFor(major: number): CorpusEntry[] {
  return [...CORPUS, ...DOCS_CORPUS].filter((e) => (e.minMajor ?? 0) <= major);
}
