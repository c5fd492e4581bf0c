// A StepContext for running the backfill step kind outside the runner (benchmarks, crash child).
import pg from 'pg';
import { systemClock } from '../../src/util/clock.js';
import { RunControl } from '../../src/engine/control.js';
import { EventBus, type RunEvent } from '../../src/engine/events.js';
import { PolicyGates } from '../../src/engine/gates.js';
import { SqlExecutor } from '../../src/pg/executor.js';
import { DEFAULT_SETTINGS, type Runbook, type StepSpec } from '../../src/runbook/model.js';
import type { StepContext } from '../../src/engine/step-kind.js';
import type { BackfillParams } from '../../src/backfill/params.js';

export function backfillStep(id: string, params: BackfillParams): StepSpec<BackfillParams> {
  return { id, phase: 'deploy', kind: 'backfill', params, settings: DEFAULT_SETTINGS, pos: { file: 'bench', line: 1, col: 1 } };
}

export async function backfillContext(
  url: string,
  step: StepSpec,
  runId: string,
  onEvent: (e: RunEvent) => void = () => {},
  pool: pg.Pool = new pg.Pool({ connectionString: url, application_name: 'pgrunbook:bench', max: 4 }),
): Promise<StepContext & { control: RunControl; abort: AbortController; close(): Promise<void> }> {
  pool.on('error', () => {});
  const bus = new EventBus(runId);
  bus.on(onEvent);
  const emit = (b: Parameters<EventBus['emit']>[0]) => void bus.emit(b);
  const gates = new PolicyGates({ yes: true, allowIrreversible: true, user: 'bench' });
  const v = await pool.query<{ n: string }>(`select current_setting('server_version_num') as n`);
  const phases = { plan: [], test: [], deploy: [step], monitor: [], rollback: [] } as Runbook['phases'];
  const abort = new AbortController();
  let state: Record<string, unknown> | undefined;
  return {
    runId,
    runbook: { version: 1, name: 'bench', vars: {}, settings: DEFAULT_SETTINGS, phases, file: 'bench', source: '' },
    step,
    pool,
    connectionString: url,
    executor: new SqlExecutor({ pool, clock: systemClock, emit, gates }),
    serverVersionNum: Number(v.rows[0]!.n),
    emit,
    signal: abort.signal,
    abort,
    clock: systemClock,
    gates,
    control: new RunControl(),
    state: { get: async <T>() => state as T | undefined, set: async (s) => void (state = s) },
    nonInteractive: true,
    close: () => pool.end(),
  };
}
