// A step-level `rollback:` that the runner never runs is reported by the loader as a warning at the
// `rollback:` key: on kinds that undo themselves, and on steps outside the deploy phase. The list
// of self-undoing kinds is checked against what each kind's rollback() really does.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadRunbookFile, loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem } from '../../src/runbook/model.js';
import { SELF_UNDO } from '../../src/runbook/self-undo.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import type { StepContext } from '../../src/engine/step-kind.js';
import { loadRunbookOrExit } from '../../src/cli/runbook-input.js';
import { makeStep } from '../support/step-context.js';
import { FIXTURES } from '../fixtures/runbooks/cases.js';

const FILE = join(FIXTURES, 'ignored-rollback.yaml');
const NEVER_RUN = /this rollback: SQL is never run/;

/** Valid params for the kinds that undo themselves (JSON is YAML flow syntax too). */
const PARAMS: Record<string, object> = {
  add_column: { table: 't', column: 'c', type: 'int' },
  not_null: { table: 't', column: 'c' },
  create_index: { table: 't', columns: ['c'] },
  add_foreign_key: { table: 't', columns: ['c'], references: { table: 'u', columns: ['id'] } },
  add_check: { table: 't', name: 't_c_pos', expression: 'c > 0' },
  swap_table: { table: 't', columns: [{ name: 'c', type: 'bigint' }] },
  flag: { backend: 'postgres', key: 'k', stages: [100] },
  change_column: { table: 't', column: 'c', type: 'bigint' },
};

describe('rollback: that is never run', () => {
  it('warns at the rollback: key of each self-undoing step, saying how the kind undoes itself', async () => {
    const { runbook, problems } = await loadRunbookFile(FILE, { kinds: STEP_KINDS });
    expect(runbook).toBeDefined(); // warnings only
    expect(problems.map(formatProblem)).toEqual([
      `${FILE}:14:7: warning: step "add_qty": this rollback: SQL is never run: add_column undoes itself in the rollback phase: it drops the column only if this run added it. Remove rollback: from the step, or put the SQL in a separate \`sql\` step in the rollback phase`,
      expect.stringMatching(
        /ignored-rollback\.yaml:22:7: warning: step "widen_id": this rollback: SQL is never run: swap_table undoes itself in the rollback phase: it swaps the old table back/,
      ),
      expect.stringMatching(
        /ignored-rollback\.yaml:23:7: warning: step "drop_old": this rollback: SQL is never run: swap_table with drop_old: true cannot be undone/,
      ),
      expect.stringMatching(
        /ignored-rollback\.yaml:32:7: warning: step "recount": this rollback: SQL is never run: the rollback phase undoes deploy steps only, and this step is in monitor/,
      ),
    ]);
    // backfill and sql run their rollback: SQL: no warning, and the SQL is kept for the runner.
    const deploy = Object.fromEntries(runbook!.phases.deploy.map((s) => [s.id, s]));
    expect(deploy.fill_qty!.rollback).toBe("SELECT 'nothing to restore' AS note");
    expect(deploy.note!.rollback).toBe('SELECT 4');
    // `default: 0` (a YAML number) is an SQL constant.
    expect(deploy.add_qty!.params).toMatchObject({ default: '0' });
  });

  it('warns for each self-undoing kind, also for a step left out by when:', async () => {
    for (const kind of Object.keys(SELF_UNDO)) {
      const text = `version: 1\nname: k\nphases:\n  deploy:\n    - id: s\n      when: false\n      ${kind}: ${JSON.stringify(PARAMS[kind])}\n      rollback: SELECT 1\n`;
      const { problems } = await loadRunbookText(text, 'k.yaml', { kinds: STEP_KINDS });
      expect(problems.filter((p) => p.severity === 'error').map(formatProblem), kind).toEqual([]);
      expect(problems.map(formatProblem), kind).toEqual([
        expect.stringMatching(new RegExp(`^k\\.yaml:8:7: warning: step "s": this rollback: SQL is never run: ${kind} undoes itself`)),
      ]);
    }
  });

  it('the self-undoing list matches what each kind does with rollback: SQL', async () => {
    // Every kind's rollback() with nothing recorded for this run and no table in the database: a kind that runs `rollback:` SQL
    // hands it to the executor; a self-undoing kind finds nothing of its own to undo.
    const honoured: string[] = [];
    const ignored: string[] = [];
    for (const kind of STEP_KINDS.values()) {
      if (!kind.rollback) {
        honoured.push(kind.kind); // the runner runs step.rollback itself
        continue;
      }
      const ran: string[] = [];
      const params = PARAMS[kind.kind] ? kind.schema.parse(PARAMS[kind.kind]) : {};
      const step = makeStep(kind.kind, params, { rollback: 'SELECT 42' });
      const ctx = {
        step,
        executor: { run: async (sql: string) => (ran.push(sql), []) },
        state: { get: async () => ({}), set: async () => {} },
        emit: () => {},
        signal: new AbortController().signal,
        // A database where nothing exists: catalog lookups find no table (add_column asks before undoing).
        pool: { query: async () => ({ rows: [], rowCount: 0 }) },
      } as unknown as StepContext;
      const failed = await kind.rollback(step as any, ctx).then(
        () => undefined,
        (e: Error) => e.message,
      );
      (ran.includes('SELECT 42') ? honoured : ignored).push(failed ? `${kind.kind} (threw: ${failed})` : kind.kind);
    }
    expect(ignored.sort()).toEqual(Object.keys(SELF_UNDO).sort());
    expect(honoured).toEqual(expect.arrayContaining(['sql', 'shell', 'backfill', 'check', 'wait']));
  });

  describe('loading for a run', () => {
    afterEach(() => vi.restoreAllMocks());
    it('prints the warning to stderr and still loads', async () => {
      let err = '';
      vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
      const runbook = await loadRunbookOrExit(FILE, undefined);
      expect(runbook.phases.deploy).toHaveLength(5);
      expect(err).toContain(`${FILE}:14:7: warning: step "add_qty": this rollback: SQL is never run: add_column undoes itself`);
      expect(err.match(new RegExp(NEVER_RUN, 'g'))).toHaveLength(4);
    });
  });
});
