// The run wiring with the Ink front-end (what `run` and `resume` use on a terminal), on the real
// runner and a real database: events reach the screen, the gate is answered with a key through
// InkGates, pause goes through RunControl, and the monitor feeds the panels.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { resolveConnection } from '../../src/pg/connection.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { RunWiring } from '../../src/wiring/run-wiring.js';
import { useTestDatabase } from '../support/pg.js';
import { waitFor } from '../ui/support/harness.js';
import { newRunner, STEP_KINDS } from '../../src/cli/composition-root.js';

const RUNBOOK = `
version: 1
name: ui wiring
phases:
  deploy:
    - id: make_table
      title: Create the widgets table
      why: A tiny step with a gate, to drive the UI end to end.
      gate: confirm
      sql: CREATE TABLE widgets (id int PRIMARY KEY)
`;

function fakeTerminal() {
  const stdout = Object.assign(new EventEmitter(), {
    columns: 100,
    rows: 30,
    isTTY: true,
    all: '',
    write(s: string) {
      this.all += s;
      return true;
    },
  });
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
  return { stdout, stdin };
}

describe('RunWiring with the Ink UI on a real run', () => {
  const db = useTestDatabase();

  it('shows the gate from the runner, takes y from the keyboard, and follows the run to the end', async () => {
    const loaded = await loadRunbookText(RUNBOOK, 'ui.yaml', { kinds: STEP_KINDS });
    expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const connection = resolveConnection(db.url);
    const term = fakeTerminal();
    const mounted = new RunWiring({
      mode: 'ink',
      policy: { yes: false, allowIrreversible: false },
      monitorIntervalMs: 200,
      patchConsole: false,
      stdout: term.stdout as unknown as NodeJS.WriteStream,
      stdin: term.stdin as unknown as NodeJS.ReadStream,
    });
    const runner = newRunner({
      runbook: loaded.runbook!,
      connection,
      gates: mounted.gates,
      nonInteractive: false,
      journalDir: null,
      phases: ['deploy'],
    });
    await mounted.attach(runner, { connection, runbook: loaded.runbook });
    const output = () => stripVTControlCharacters(term.stdout.all);
    try {
      const run = runner.run();
      // The runner's gate arrives through InkGates (ink draws it; in CI mode only at unmount).
      await waitFor(() => mounted.store.getState().gates[0]?.stepId === 'make_table', 'the gate', 20_000);
      expect(mounted.store.getState().gates[0]).toMatchObject({ level: 'confirm', title: 'Create the widgets table' });
      // The monitor feeds the panels.
      await waitFor(() => mounted.store.getState().sample !== undefined, 'a monitor sample', 10_000);
      // p reaches RunControl through the intents (and is shown as an event).
      term.stdin.write('p');
      await waitFor(() => runner.control.paused && mounted.store.getState().run.status === 'paused', 'paused');
      term.stdin.write('p');
      await waitFor(() => !runner.control.paused && mounted.store.getState().run.status === 'running', 'resumed');
      term.stdin.write('y');
      const outcome = await run;
      expect(outcome.status).toBe('completed');
      expect(mounted.store.getState().run.steps.make_table!.status).toBe('done');
      expect(mounted.metrics()).toHaveProperty('connections');
    } finally {
      await mounted.close();
    }
    // The last frame stays on the terminal after unmount.
    expect(output()).toContain('COMPLETED');
    expect(output()).toContain('✓ make_table');
    const rows = await db.query(`select to_regclass('widgets') as t`);
    expect(rows[0]!.t).toBe('widgets');
  });
});
