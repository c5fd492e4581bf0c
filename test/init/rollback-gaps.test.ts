// Why init --verify reports "rollback NOT verified": each kept statement without a down migration is
// named with what the operator can do; a down migration (it becomes the step's rollback:) closes the gap.
import { describe, expect, it } from 'vitest';
import { rollbackGaps } from '../../src/init/rollback-gaps.js';
import { fileURLToPath } from 'node:url';
import { convert, kinds } from './support.js';
import { buildRunbook } from '../../src/init/build-runbook.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { loadParser } from '../../src/pg/sqlparse.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

describe('rollbackGaps', () => {
  it('names a kept ADD COLUMN without a down migration, and says to add one or accept it', async () => {
    const built = await convert('ALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX orders_amount_idx ON orders (amount);');
    expect(kinds(built.runbook)).toEqual(['sql', 'create_index']);
    const gaps = rollbackGaps(built.runbook);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatch(
      /^step \S+ \(ALTER TABLE orders ADD COLUMN note text\) has no rollback: the migration has no down migration for it/,
    );
    expect(gaps[0]).toMatch(/Either add a down migration .* and run init again, .* or accept that rolling back keeps this change/);
  });

  it('says nothing for a kept statement whose down migration became its rollback (Sqitch revert/)', async () => {
    await loadParser();
    const from = fileURLToPath(new URL('../fixtures/init/sqitch', import.meta.url));
    const built = await buildRunbook({ from, only: ['orders_index', 'orders_status'], versionNum: 170000, kinds: STEP_KINDS });
    const { runbook } = await loadRunbookText(built.yaml, 'init.yaml', { kinds: STEP_KINDS });
    expect(runbook!.phases.deploy.find((s) => s.kind === 'sql')?.rollback).toBe('ALTER TABLE orders DROP COLUMN status');
    expect(rollbackGaps(runbook!)).toEqual([]);
  });
});
