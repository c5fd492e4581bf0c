// Rule ids and their safe alternatives. Messages are built where the facts are known; the safe
// pattern for each rule lives here so every caller (analyze, plan, reports) says the same thing.
import type { FindingSeverity } from './analysis-types.js';

export interface Rule {
  severity: FindingSeverity;
  safe?: string;
}

export const RULES = {
  'add-column-volatile-default': {
    severity: 'warning',
    safe: 'Add the column without a default (or with a constant one), set the default for new rows with ALTER COLUMN ... SET DEFAULT, and fill existing rows with a `backfill` step.',
  },
  'add-column-serial': {
    severity: 'warning',
    safe: 'Add a nullable bigint column, attach a sequence with ALTER COLUMN ... SET DEFAULT nextval(...), fill existing rows with a `backfill` step, then make it NOT NULL with a `not_null` step.',
  },
  'add-column-generated-stored': {
    severity: 'warning',
    safe: 'Add a plain nullable column kept up to date by a trigger and fill existing rows with a `backfill` step (on PostgreSQL 18 a VIRTUAL generated column needs no rewrite).',
  },
  'add-column-domain-check': {
    severity: 'warning',
    safe: 'Add the column with its base type, backfill, then change the type when the table is small enough, or validate with a CHECK constraint added NOT VALID.',
  },
  'add-column-not-null-without-default': {
    severity: 'error',
    safe: 'Add the column nullable, fill it with a `backfill` step, then add NOT NULL with a `not_null` step (or give it a constant DEFAULT).',
  },
  'add-column-with-check': {
    severity: 'warning',
    safe: 'Add the column first, then add the CHECK with an `add_check` step (NOT VALID, then VALIDATE under SHARE UPDATE EXCLUSIVE).',
  },
  'add-column-with-unique': {
    severity: 'warning',
    safe: 'Add the column, build the index with a `create_index` step (CREATE UNIQUE INDEX CONCURRENTLY), then ADD CONSTRAINT ... UNIQUE USING INDEX.',
  },
  'alter-column-type-rewrite': {
    severity: 'warning',
    safe: 'Add a new column of the new type, fill it with a `backfill` step while a trigger keeps it current, switch the application (a `flag` step), then drop the old column; or use a `swap_table` step.',
  },
  'alter-column-type-revalidates': {
    severity: 'warning',
    safe: 'Drop the CHECK constraints on the column first and re-add them with an `add_check` step (NOT VALID, then VALIDATE) after the type change.',
  },
  'set-not-null-scan': {
    severity: 'warning',
    safe: 'Use a `not_null` step: CHECK (col IS NOT NULL) NOT VALID, VALIDATE it under SHARE UPDATE EXCLUSIVE, then SET NOT NULL skips the scan (PostgreSQL 18: ADD CONSTRAINT ... NOT NULL col NOT VALID, then VALIDATE CONSTRAINT).',
  },
  'add-check-scan': {
    severity: 'warning',
    safe: 'Use an `add_check` step: ADD CONSTRAINT ... CHECK (...) NOT VALID (brief lock, no scan), then VALIDATE CONSTRAINT under SHARE UPDATE EXCLUSIVE.',
  },
  'add-not-null-constraint-scan': {
    severity: 'warning',
    safe: 'Add it NOT VALID, then VALIDATE CONSTRAINT under SHARE UPDATE EXCLUSIVE (a `not_null` step does this on PostgreSQL 18).',
  },
  'add-foreign-key-scan': {
    severity: 'warning',
    safe: 'Use an `add_foreign_key` step: ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID (brief lock, no scan), then VALIDATE CONSTRAINT under SHARE UPDATE EXCLUSIVE.',
  },
  'foreign-key-unindexed': {
    severity: 'warning',
    safe: 'Create an index on the referencing columns (a `create_index` step, CONCURRENTLY) so deletes and key updates on the referenced table do not scan this table.',
  },
  'add-unique-constraint': {
    severity: 'warning',
    safe: 'Build the index with a `create_index` step (CREATE UNIQUE INDEX CONCURRENTLY), then ADD CONSTRAINT ... UNIQUE USING INDEX (a catalog change).',
  },
  'add-primary-key': {
    severity: 'warning',
    safe: 'Make the columns NOT NULL with a `not_null` step, build CREATE UNIQUE INDEX CONCURRENTLY (`create_index`), then ADD CONSTRAINT ... PRIMARY KEY USING INDEX.',
  },
  'add-exclusion-constraint': {
    severity: 'warning',
    safe: 'There is no concurrent form: schedule it in a quiet window on a table small enough, or build a new table with the constraint and switch with a `swap_table` step.',
  },
  'using-index-not-null-scan': {
    severity: 'warning',
    safe: 'Make the columns NOT NULL first with a `not_null` step so ADD PRIMARY KEY USING INDEX is a catalog change.',
  },
  'using-index-invalid': {
    severity: 'error',
    safe: 'Drop the invalid index (DROP INDEX CONCURRENTLY) and build it again with a `create_index` step.',
  },
  'create-index-blocks-writes': {
    severity: 'warning',
    safe: 'Use a `create_index` step: CREATE INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE: reads and writes continue), with invalid-index detection.',
  },
  'concurrently-leaves-invalid-index': {
    severity: 'info',
    safe: 'Check pg_index.indisvalid afterwards; a `create_index` step detects and drops an invalid leftover before retrying.',
  },
  'concurrently-on-partitioned-table': {
    severity: 'error',
    safe: 'Create the index CONCURRENTLY on each partition, create it ON ONLY the parent, then ALTER INDEX parent_idx ATTACH PARTITION each one.',
  },
  'not-in-transaction-block': {
    severity: 'error',
    safe: 'Run it outside BEGIN ... COMMIT (its own step; pgrunbook runs non-transactional statements outside a transaction).',
  },
  'drop-index-blocks': {
    severity: 'warning',
    safe: 'Use DROP INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE on the table), outside a transaction block.',
  },
  'reindex-blocks': {
    severity: 'warning',
    safe: 'Use REINDEX ... CONCURRENTLY, outside a transaction block.',
  },
  'drop-column': {
    severity: 'warning',
    safe: 'Deploy application code that no longer reads or writes the column first, keep it for a release cycle, and have a restore plan: the data is gone after this.',
  },
  'drop-table': {
    severity: 'warning',
    safe: 'Rename it first and drop it a release later, or keep a copy; the data is gone after this.',
  },
  rename: {
    severity: 'warning',
    safe: 'Expand and contract: add the new name (a new column kept in sync by a trigger, or a view), move the application with a `flag` step, then drop the old name.',
  },
  'rewrite-table': {
    severity: 'warning',
    safe: 'Use pg_repack (a `shell` step) to rebuild the table online, or a `swap_table` step.',
  },
  'set-logged-rewrite': {
    severity: 'warning',
    safe: 'Schedule it in a quiet window: there is no online form. For a large table consider building a new table and switching with a `swap_table` step.',
  },
  truncate: {
    severity: 'warning',
    safe: 'Delete in batches with a `backfill`-style step if the table is in use, and keep a copy: TRUNCATE cannot be undone after commit.',
  },
  'update-without-where': {
    severity: 'warning',
    safe: 'Use a `backfill` step: keyset batches on the primary key in short transactions, throttled on replication lag, lock waiters, application latency, WAL rate and checkpoints.',
  },
  'delete-without-where': {
    severity: 'warning',
    safe: 'Delete in keyset batches on the primary key in short transactions (TRUNCATE if the table is not in use).',
  },
  'large-dml': {
    severity: 'warning',
    safe: 'Use a `backfill` step: keyset batches on the primary key in short transactions, throttled on replication lag, lock waiters, application latency, WAL rate and checkpoints.',
  },
  'backfill-in-one-statement': {
    severity: 'warning',
    safe: 'Use a `backfill` step: the same SET and WHERE in keyset batches on the primary key, short transactions, throttled on replication lag, lock waiters, application latency, WAL rate and checkpoints, resumable.',
  },
  'prefer-jsonb': {
    severity: 'warning',
    safe: 'Use jsonb: it can be indexed (GIN), compared for equality, and is parsed once on write instead of on every read.',
  },
  'index-too-many-columns': {
    severity: 'warning',
    safe: 'Index the one to three columns queries filter on most selectively; a wide non-unique b-tree is large, slows every write, and helps only queries that use its leading columns.',
  },
  'change-column-default': {
    severity: 'warning',
    safe: 'Deploy the application code that writes the column explicitly first (or accepts both values), then change the default; existing rows keep their value, so backfill them with a `backfill` step if they must change.',
  },
  'prefer-robust-stmts': {
    severity: 'info',
    safe: 'Write IF NOT EXISTS / IF EXISTS (CREATE INDEX CONCURRENTLY IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, DROP ... IF EXISTS) so a migration retried after a partial failure succeeds; pgrunbook steps are idempotent for you.',
  },
  'domain-check-scan': {
    severity: 'warning',
    safe: 'Add the domain constraint NOT VALID (new values are checked at once, no scan), then VALIDATE CONSTRAINT in a quiet window.',
  },
  'lock-table': {
    severity: 'warning',
    safe: 'Take the weakest mode that protects the change, set lock_timeout, and keep the transaction short.',
  },
  'attach-partition-scan': {
    severity: 'warning',
    safe: 'Add a CHECK constraint matching the partition bound to the table first (NOT VALID, then VALIDATE), so ATTACH PARTITION skips the scan; drop the CHECK afterwards.',
  },
  'detach-partition-blocks': {
    severity: 'warning',
    safe: 'Use DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+, outside a transaction block; no default partition).',
  },
  'create-partition-locks-parent': {
    severity: 'warning',
    safe: 'Create the table standalone with a CHECK constraint matching the bound, then ATTACH PARTITION (SHARE UPDATE EXCLUSIVE on the parent).',
  },
  'default-partition-scan': {
    severity: 'warning',
    safe: 'Keep the default partition small (move its rows out first), or avoid a default partition.',
  },
  'refresh-matview-blocks': {
    severity: 'warning',
    safe: 'Use REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view): reads continue.',
  },
  'lock-timeout-missing': {
    severity: 'warning',
    safe: "SET lock_timeout (e.g. '2s') before it and retry on lock_not_available; pgrunbook steps do this for you.",
  },
  'requires-newer-server': {
    severity: 'error',
    safe: 'Use the form your server version supports (see the message), or upgrade first.',
  },
  'enum-add-value': {
    severity: 'info',
    safe: 'The new value cannot be used in the same transaction before PostgreSQL commits it; add it in its own step.',
  },
  'trigger-lock': {
    severity: 'info',
    safe: 'It is brief once granted; keep lock_timeout set so it does not queue reads and writes behind a long transaction.',
  },
  'not-valid-needs-validate': {
    severity: 'info',
    safe: 'Follow with ALTER TABLE ... VALIDATE CONSTRAINT (SHARE UPDATE EXCLUSIVE) so the planner and later steps can rely on it.',
  },
  'vacuum-analyze': {
    severity: 'info',
  },
  'not-modeled': {
    severity: 'info',
    safe: 'Check the locks this statement takes in the PostgreSQL documentation, or rehearse it (`pgrunbook rehearse`) to trace them.',
  },
  'timezone-dependent': {
    severity: 'info',
    safe: "Run the change in a session with TimeZone = UTC (SET TimeZone = 'UTC') so timestamp <-> timestamptz needs no rewrite.",
  },
} satisfies Record<string, Rule>;

export type RuleId = keyof typeof RULES;
