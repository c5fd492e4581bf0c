// Builds a StepContext for testing one step kind against a real database, outside the runner.
import pg from 'pg';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { RunControl } from '../../src/engine/control.js';
import type { RunEvent, EventBody } from '../../src/engine/events.js';
import { EventBus } from '../../src/engine/events.js';
import type { GatePort } from '../../src/engine/gates.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { SqlExecutor } from '../../src/pg/executor.js';
import { DEFAULT_SETTINGS, type PhaseName, type Runbook, type StepSpec } from '../../src/runbook/model.js';
import type { StepContext } from '../../src/engine/step-kind.js';

export interface TestStepContext extends StepContext {
  events: RunEvent[];
  control: RunControl;
  abort: AbortController;
  close(): Promise<void>;
}

export function makeStep<P>(kind: string, params: P, over: Partial<StepSpec<P>> = {}): StepSpec<P> {
  return {
    id: over.id ?? `${kind}_step`,
    phase: over.phase ?? ('deploy' as PhaseName),
    kind,
    params,
    settings: { ...DEFAULT_SETTINGS, ...(over.settings ?? {}) },
    pos: { file: 'test.yaml', line: 1, col: 1 },
    ...over,
  };
}

export function makeRunbook(steps: StepSpec[] = [], over: Partial<Runbook> = {}): Runbook {
  const phases = { plan: [], test: [], deploy: [], monitor: [], rollback: [] } as Runbook['phases'];
  for (const s of steps) phases[s.phase].push(s);
  return { version: 1, name: 'test', vars: {}, settings: DEFAULT_SETTINGS, phases, file: 'test.yaml', source: '', ...over };
}

export async function makeTestStepContext(opts: {
  url: string;
  step: StepSpec;
  runbook?: Runbook;
  gates?: GatePort;
  clock?: Clock;
  runId?: string;
  nonInteractive?: boolean;
}): Promise<TestStepContext> {
  const pool = new pg.Pool({ connectionString: opts.url, application_name: 'pgrunbook:test', max: 4 });
  pool.on('error', () => {});
  const runId = opts.runId ?? `test-${Date.now().toString(36)}`;
  const bus = new EventBus(runId);
  const events: RunEvent[] = [];
  bus.on((e) => events.push(e));
  const emit = (b: EventBody) => void bus.emit(b);
  const gates = opts.gates ?? new PolicyGates({ yes: true, allowIrreversible: true, user: 'test' });
  const clock = opts.clock ?? systemClock;
  const executor = new SqlExecutor({ pool, clock, emit, gates, backoffBaseMs: 50, backoffCapMs: 500 });
  const v = await pool.query<{ n: string }>(`select current_setting('server_version_num') as n`);
  let stored: Record<string, unknown> | undefined;
  const abort = new AbortController();
  return {
    runId,
    runbook: opts.runbook ?? makeRunbook([opts.step]),
    step: opts.step,
    pool,
    connectionString: opts.url,
    executor,
    serverVersionNum: Number(v.rows[0]!.n),
    emit,
    signal: abort.signal,
    abort,
    clock,
    gates,
    control: new RunControl(),
    state: {
      get: async <T>() => stored as T | undefined,
      set: async (value) => {
        stored = value;
      },
    },
    nonInteractive: opts.nonInteractive ?? true,
    events,
    close: () => pool.end(),
  };
}
