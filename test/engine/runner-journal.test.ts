// A journal outage during a real run: triggers make pgrunbook.events (and pgrunbook.runs) refuse
// writes while a row sits in journal_block. What the steps did must stay recorded as it happened.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestDatabase } from '../support/pg.js';
import { makeRunbook, makeStep } from '../support/step-context.js';
import { Runner } from '../../src/engine/runner.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { connectionFactory, resolveConnection } from '../../src/pg/connection.js';
import type { RunEvent } from '../../src/engine/events.js';
import type { StepKind } from '../../src/engine/step-kind.js';
import type { Runbook } from '../../src/runbook/model.js';

/**
 * A step that runs SQL on the target, then waits a moment (so the journal retries meanwhile). With
 * `made`, resume reconciles it by looking for that table.
 */
const sqlKind: StepKind<{ sql?: string; waitMs?: number; made?: string }> = {
  kind: 'rawsql',
  schema: z.any(),
  plan: () => ({ statements: [], locks: [], reversible: true, notes: [] }),
  async apply(step, ctx) {
    if (step.params.sql) await ctx.pool.query(step.params.sql);
    if (step.params.waitMs) await new Promise((r) => setTimeout(r, step.params.waitMs));
  },
  async reconcile(step, ctx) {
    const made = step.params.made;
    if (!made) return { found: 'unknown', detail: 'nothing to look for' };
    const r = await ctx.pool.query<{ t: string | null }>('select to_regclass($1)::text t', [made]);
    return r.rows[0]!.t ? { found: 'done', detail: `${made} exists` } : { found: 'not-done', detail: `${made} is missing` };
  },
};
const kinds = new Map([['rawsql', sqlKind as StepKind]]);

const REFUSE = `
  create table if not exists journal_block (id int);
  create or replace function refuse_journal() returns trigger language plpgsql as $$
  begin
    if exists (select from public.journal_block) then raise exception 'journal writes refused by the test'; end if;
    return new;
  end $$;
  drop trigger if exists refuse on pgrunbook.events;
  create trigger refuse before insert on pgrunbook.events for each row execute function refuse_journal();
  drop trigger if exists refuse on pgrunbook.runs;
  create trigger refuse before update on pgrunbook.runs for each row execute function refuse_journal();
  insert into journal_block values (1);`;

async function run(url: string, rb: Runbook, extra: { resumeRunId?: string; journalWaitMs?: number } = {}) {
  const connection = resolveConnection(url);
  const gates = new PolicyGates({ yes: true, allowIrreversible: true, user: 'test' });
  const runner = new Runner({
    runbook: rb,
    connection,
    connect: connectionFactory(connection),
    gates,
    nonInteractive: true,
    journalDir: null,
    kinds,
    ...extra,
  });
  const events: RunEvent[] = [];
  runner.bus.on((e) => events.push(e));
  return { outcome: await runner.run(), events };
}

describe('runner: journal outage', () => {
  const db = useTestDatabase();

  it('a journal that refuses writes for a moment is retried: steps stay completed, no event is lost', async () => {
    const rb = makeRunbook(
      [
        makeStep('rawsql', { sql: REFUSE }, { id: 'block', phase: 'deploy' }),
        makeStep('rawsql', { waitMs: 1_500, sql: 'select 1' }, { id: 'during', phase: 'deploy' }),
        makeStep('rawsql', { sql: 'delete from journal_block' }, { id: 'unblock', phase: 'deploy' }),
        makeStep('rawsql', {}, { id: 'after', phase: 'monitor' }),
      ],
      { name: 'journal-outage' },
    );
    const { outcome, events } = await run(db.url, rb);
    expect(outcome).toMatchObject({ status: 'completed' });
    expect(outcome.unrecorded).toBeUndefined();
    const logs = events.filter((e) => e.type === 'step.log').map((e) => (e as { message: string }).message);
    expect(logs).toContainEqual(
      expect.stringMatching(/^could not write the journal to pgrunbook.events \(journal writes refused by the test\); the run goes on/),
    );
    expect(logs).toContainEqual(expect.stringMatching(/^the journal is writable again after \d+ failed tries; no event was lost$/));
    const steps = await db.query(`select step_id, status from pgrunbook.step_states where run_id = $1 order by started_at`, [
      outcome.runId,
    ]);
    expect(steps).toEqual(['block', 'during', 'unblock', 'after'].map((step_id) => ({ step_id, status: 'completed' })));
    const journal = await db.query(`select seq, type from pgrunbook.events where run_id = $1 order by seq`, [outcome.runId]);
    expect(journal.map((r) => r.type)).toEqual(events.filter((e) => e.type !== 'step.progress').map((e) => e.type));
    expect(journal.map((r) => r.seq)).toEqual(journal.map((_, i) => i + 1));
    expect(journal.filter((r) => r.type === 'step.failed')).toEqual([]);
  });

  it('a run that cannot record its end keeps its real status, says so, and resume records it later', async () => {
    await db.query(`delete from journal_block`).catch(() => {});
    const rb = makeRunbook(
      [
        makeStep('rawsql', { sql: REFUSE }, { id: 'block', phase: 'deploy' }),
        makeStep('rawsql', { sql: 'create table made_here (id int)' }, { id: 'make', phase: 'deploy' }),
      ],
      { name: 'journal-down' },
    );
    const { outcome, events } = await run(db.url, rb, { journalWaitMs: 500 });
    expect(outcome.status).toBe('completed');
    expect(outcome.unrecorded).toMatch(
      new RegExp(
        `^run ${outcome.runId} completed in the database, but pgrunbook.runs does not record its end \\(journal writes refused by the test\\), and \\d+ of its events are not in pgrunbook.events \\(journal writes refused by the test\\)\\. ` +
          `Once pgrunbook.\\* accepts writes again, \`pgrunbook status\` shows what is recorded and \`pgrunbook resume ${outcome.runId}\` records the end`,
      ),
    );
    expect(events.at(-1)).toMatchObject({ type: 'step.log', level: 'error', message: outcome.unrecorded });
    expect(events.some((e) => e.type === 'step.failed' || e.type === 'run.failed')).toBe(false);
    expect(await db.query(`select count(*)::int n from made_here`)).toEqual([{ n: 0 }]); // the step really ran
    const steps = await db.query(`select step_id, status from pgrunbook.step_states where run_id = $1 order by started_at`, [
      outcome.runId,
    ]);
    expect(steps).toEqual([
      { step_id: 'block', status: 'completed' },
      { step_id: 'make', status: 'completed' },
    ]);
    expect(await db.query(`select status from pgrunbook.runs where run_id = $1`, [outcome.runId])).toEqual([{ status: 'running' }]);

    await db.query(`delete from journal_block`);
    const again = await run(db.url, rb, { resumeRunId: outcome.runId });
    expect(again.outcome).toMatchObject({ status: 'completed' });
    expect(again.outcome.unrecorded).toBeUndefined();
    expect(again.events.filter((e) => e.type === 'step.skipped')).toHaveLength(2); // nothing ran twice
    expect(await db.query(`select status from pgrunbook.runs where run_id = $1`, [outcome.runId])).toEqual([{ status: 'completed' }]);
  });

  it('a step whose completion cannot be recorded stops the run, stays running, and resume reconciles it as done', async () => {
    // Refuses to record make_once as completed while a row sits in step_block (the write is retried 3 times first).
    const refuseDone = `
      create table if not exists step_block (id int);
      create or replace function refuse_step_done() returns trigger language plpgsql as $$
      begin
        if new.step_id = 'make_once' and new.status = 'completed' and exists (select from public.step_block) then
          raise exception 'step_states writes refused by the test';
        end if;
        return new;
      end $$;
      drop trigger if exists refuse_done on pgrunbook.step_states;
      create trigger refuse_done before update on pgrunbook.step_states for each row execute function refuse_step_done();
      insert into step_block values (1);`;
    const rb = makeRunbook(
      [
        makeStep('rawsql', { sql: refuseDone }, { id: 'block_steps', phase: 'deploy' }),
        // Run twice, the CREATE TABLE would fail: resume must see that it is done, not run it again.
        makeStep('rawsql', { sql: 'create table made_once (id int)', made: 'made_once' }, { id: 'make_once', phase: 'deploy' }),
        makeStep('rawsql', { sql: 'create table made_after (id int)', made: 'made_after' }, { id: 'after_make', phase: 'deploy' }),
      ],
      { name: 'step-state-down' },
    );
    const { outcome, events } = await run(db.url, rb);
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toBe(
      'step make_once completed in the database, but pgrunbook.step_states could not record it: step_states writes refused by the test',
    );
    expect((outcome.error as { hint?: string }).hint).toContain(`pgrunbook resume ${outcome.runId}\` reconciles make_once`);
    // Never told or recorded as failed; the next step did not start.
    expect(events.filter((e) => e.type === 'step.failed')).toEqual([]);
    expect(events.filter((e) => e.type === 'step.started').map((e) => (e as { stepId: string }).stepId)).toEqual([
      'block_steps',
      'make_once',
    ]);
    expect(await db.query(`select to_regclass('made_once')::text t, to_regclass('made_after')::text a`)).toEqual([
      { t: 'made_once', a: null },
    ]);
    const states = () =>
      db.query(`select step_id, status from pgrunbook.step_states where run_id = $1 order by started_at`, [outcome.runId]);
    expect(await states()).toEqual([
      { step_id: 'block_steps', status: 'completed' },
      { step_id: 'make_once', status: 'running' },
    ]);

    await db.query(`delete from step_block`);
    const again = await run(db.url, rb, { resumeRunId: outcome.runId });
    expect(again.outcome.status, again.outcome.error?.message).toBe('completed');
    expect(again.events).toContainEqual(expect.objectContaining({ type: 'step.reconciled', stepId: 'make_once', found: 'done' }));
    expect(again.events.filter((e) => e.type === 'step.started').map((e) => (e as { stepId: string }).stepId)).toEqual(['after_make']);
    expect(await states()).toEqual([
      { step_id: 'block_steps', status: 'completed' },
      { step_id: 'make_once', status: 'completed' },
      { step_id: 'after_make', status: 'completed' },
    ]);
  });
});
