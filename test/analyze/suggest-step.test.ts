// The runbook step shown with a finding: built from the statement's own table, columns and SQL,
// and valid runbook YAML (checked by the real runbook loader, schema included).
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeSql } from '../../src/analyze/analyze-statements.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const offline = (sql: string) => analyzeSql(sql, { serverVersionNum: 170000, squawk: false });

async function stepsFor(sql: string, rule: string): Promise<string | undefined> {
  const r = await offline(sql);
  return r.statements[0]!.findings.find((f) => f.rule === rule)?.runbook_step;
}

async function validates(stepYaml: string): Promise<string[]> {
  const body = stepYaml
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  const text = `version: 1\nname: suggested\nphases:\n  deploy:\n${body}\n`;
  const r = await loadRunbookText(text, 'suggested.yaml', { kinds: STEP_KINDS });
  return r.problems.filter((p) => p.severity === 'error').map((p) => p.message);
}

describe('suggested runbook steps', () => {
  it('turns each warning into the step kind that does it safely, with the statement’s own names', async () => {
    const cases: [string, string, unknown][] = [
      [
        'ALTER TABLE orders ALTER COLUMN status SET NOT NULL',
        'set-not-null-scan',
        [{ id: 'not_null_status', not_null: { table: 'orders', column: 'status' } }],
      ],
      [
        'ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0 AND (note IS NULL OR length(note) < 10))',
        'add-check-scan',
        [
          {
            id: 'check_amount_positive',
            add_check: { table: 'orders', name: 'amount_positive', expression: 'amount > 0 AND (note IS NULL OR length(note) < 10)' },
          },
        ],
      ],
      [
        'ALTER TABLE orders ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id)',
        'add-foreign-key-scan',
        [
          {
            id: 'fk_customer_id',
            add_foreign_key: {
              table: 'orders',
              columns: ['customer_id'],
              references: { table: 'customers', columns: ['id'] },
              name: 'orders_customer_fkey',
            },
          },
        ],
      ],
      [
        'CREATE INDEX orders_status_idx ON orders USING hash (status)',
        'create-index-blocks-writes',
        [
          {
            id: 'index_orders_status_idx',
            lock_timeout: '1m',
            create_index: { table: 'orders', columns: ['status'], name: 'orders_status_idx', using: 'hash' },
          },
        ],
      ],
      [
        'ALTER TABLE orders ADD PRIMARY KEY (id)',
        'add-primary-key',
        [{ id: 'index_id', create_index: { table: 'orders', columns: ['id'], unique: true, add_primary_key: true } }],
      ],
      [
        "UPDATE orders SET region = 'eu' WHERE region IS NULL",
        'backfill-in-one-statement',
        [{ id: 'backfill_orders', backfill: { table: 'orders', set: "region = 'eu'", where: 'region IS NULL' } }],
      ],
      [
        'ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()',
        'add-column-volatile-default',
        [
          { id: 'add_token', add_column: { table: 'orders', column: 'token', type: 'uuid' } },
          { id: 'backfill_token', backfill: { table: 'orders', set: 'token = gen_random_uuid()', where: 'token IS NULL' } },
        ],
      ],
      [
        'ALTER TABLE orders ALTER COLUMN id TYPE bigint',
        'alter-column-type-rewrite',
        [{ id: 'swap_orders', swap_table: { table: 'orders', columns: [{ name: 'id', type: 'bigint' }] } }],
      ],
    ];
    for (const [sql, rule, expected] of cases) {
      const y = await stepsFor(sql, rule);
      expect(y, sql).toBeDefined();
      expect(parse(y!), sql).toEqual(expected);
      expect(await validates(y!), sql).toEqual([]);
    }
  });

  it('checks the YAML with a loader that does reject a broken step', async () => {
    expect(await validates('- id: x\n  not_null: { table: orders }')).not.toEqual([]);
  });

  it('suggests add_check (length(col) <= n) for a varchar narrowing instead of a rewrite', async () => {
    const r = await offline('ALTER TABLE users ALTER COLUMN email TYPE varchar(120)');
    const f = r.statements[0]!.findings.find((x) => x.rule === 'alter-column-type-rewrite')!;
    expect(f.safe_alternative).toMatch(/CHECK \(length\(email\) <= 120\).*add_check/);
    expect(parse(f.runbook_step!)).toEqual([
      { id: 'check_users_email_length', add_check: { table: 'users', name: 'users_email_length', expression: 'length(email) <= 120' } },
    ]);
    expect(await validates(f.runbook_step!)).toEqual([]);
  });

  it('suggests nothing when the fragment cannot be cut out reliably', async () => {
    expect(
      await stepsFor('UPDATE orders o SET region = c.region FROM customers c WHERE o.customer_id = c.id', 'large-dml'),
    ).toBeUndefined();
    expect(await stepsFor('CREATE INDEX i ON orders (lower(email))', 'create-index-blocks-writes')).toBeUndefined();
  });

  it('shows the step under the finding in the text report', async () => {
    const { formatReport } = await import('../../src/analyze/analysis-text.js');
    const text = formatReport(await offline('ALTER TABLE orders ALTER COLUMN status SET NOT NULL'));
    expect(text).toMatch(/runbook step:\n\s+- id: not_null_status\n\s+not_null:\n\s+table: orders\n\s+column: status/);
  });
});
