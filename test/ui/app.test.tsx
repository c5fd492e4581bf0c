import { PassThrough } from 'node:stream';
import { EventEmitter } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { render as inkRender } from 'ink';
import chalk from 'chalk';
import { App } from '../../src/ui/app.js';
import { applyColorPolicy, colorsEnabled } from '../../src/ui/color.js';
import { computeLayout } from '../../src/ui/layout.js';
import { registerSecret } from '../../src/util/secrets.js';
import type { MonitorSample } from '../../src/monitor/monitor-types.js';
import { recordingIntents, renderAt, setSize, waitFor, waitForFrame, withProviders } from './support/harness.js';
import { runningBackfill } from './support/events.js';

afterEach(() => cleanup());

function sample(): MonitorSample {
  return {
    at: Date.now(),
    pollMs: 4,
    serverVersionNum: 170006,
    walBytesPerSecond: 2_400_000,
    connectionsByState: { active: 6, idle: 10 },
    locks: [
      {
        pid: 101,
        blockedBy: [],
        state: 'idle in transaction',
        waitEvent: null,
        waitingMode: null,
        relation: null,
        waitingSeconds: null,
        xactAgeSeconds: 42,
        query: 'UPDATE orders SET status = $1 WHERE id = $2',
        applicationName: 'demo:blocker',
        user: 'app',
        ours: false,
        queuedBehind: 1,
      },
      {
        pid: 202,
        blockedBy: [101],
        state: 'active',
        waitEvent: 'relation',
        waitingMode: 'AccessExclusiveLock',
        relation: 'orders',
        waitingSeconds: 1.2,
        xactAgeSeconds: 1.2,
        query: 'ALTER TABLE orders ADD COLUMN x int',
        applicationName: 'pgrunbook:r1',
        user: 'app',
        ours: true,
        queuedBehind: 0,
      },
    ],
    longQueries: [
      {
        pid: 101,
        state: 'idle in transaction',
        durationSeconds: 42,
        xactAgeSeconds: 42,
        waitEvent: null,
        query: 'UPDATE orders SET status = $1 WHERE id = $2',
        applicationName: 'demo:blocker',
        user: 'app',
        ours: false,
      },
    ],
    standbys: [],
    indexBuilds: [],
    notes: [],
  };
}

function backfillRun() {
  const { store, b } = runningBackfill(
    { rowsDone: 412_000, rowsTotal: 1_000_000, batches: 80, pauseMs: 250, rate: 52_100, etaSeconds: 11.3, lastBatchMs: 96 },
    {
      names: { runbook: 'Demo: orders.amount_cents', file: 'runbooks/demo.yaml' },
      addColumnDone: true,
      title: 'Backfill amount_cents in batches',
    },
  );
  b.emit({ type: 'step.throttle', stepId: 'backfill_amount', reason: 'replication lag 12 MB over 8 MB' });
  return { store, b };
}

function expectFits(f: string, columns: number, rows: number): void {
  const lines = f.split('\n');
  expect(lines.length, f).toBeLessThan(rows);
  for (const l of lines) expect(l.length, `line wider than ${columns}: "${l}"`).toBeLessThanOrEqual(columns);
}

describe('layout budget', () => {
  it('keeps the live region shorter than the terminal at every size', () => {
    for (let rows = 8; rows <= 70; rows++) {
      for (const columns of [40, 59, 60, 80, 100, 160, 240]) {
        for (const gateLines of [0, 6, 14]) {
          for (const backfill of [false, true]) {
            for (const dialog of [false, true]) {
              const l = computeLayout({ rows, columns, steps: 6, gateLines, backfill, dialog });
              const used = l.header + l.top + l.backfill + l.monitorRows[0] + l.monitorRows[1] + l.log + l.dialog + l.legend;
              expect(used, JSON.stringify({ rows, columns, gateLines, backfill, dialog, l })).toBeLessThanOrEqual(l.height);
              expect(l.height).toBeLessThan(rows);
            }
          }
        }
      }
    }
  });
});

describe('the run screen at 80×24', () => {
  it('shows header, steps, the focus step detail, Backfill, the four panels, the log and the key legend', async () => {
    const { store } = backfillRun();
    store.getState().pushSample(sample());
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} monitored />));
    const f = await waitForFrame(inst, (t) => t.includes('Backfill') && t.includes('Locks'), 'full screen');
    expectFits(f, 80, 24);
    // Header: runbook, phase, target and server version.
    expect(f).toContain('pgrunbook · Demo: orders.amount_cents');
    expect(f).toContain('phase deploy · deployer@db.internal:5432/shop · PostgreSQL 17.6');
    // Step list with state per step.
    expect(f).toMatch(/✓ add_amount_cents\s+12ms/);
    expect(f).toMatch(/▶ backfill_amount\s+41%/);
    expect(f).toMatch(/· amount_not_nu\S*\s+confirm/);
    // The focus step: why, locks, SQL.
    expect(f).toContain('why   Short keyset batches');
    expect(f).toContain('locks ROW EXCLUSIVE on orders');
    expect(f).toContain('sql   UPDATE "orders" SET amount_cents');
    // Backfill panel.
    expect(f).toContain('── Backfill · backfill_amount · main');
    expect(f).toMatch(/█+░+ 41\.2% 412,000 \/ ~1,000,000 rows/);
    expect(f).toContain('52.1k rows/s · ETA 11s · batch 5,000 · pause 250ms');
    expect(f).toContain('throttle: replication lag');
    // Monitor panels (rendered by the monitor's own panel components).
    for (const t of ['── Locks', '── Long queries', '── Replication', '── Index build']) expect(f).toContain(t);
    expect(f).toContain('Log');
    expect(f).toContain('p pause  +/- batch  [/] sleep  space freeze  l log  a abort  q quit  ? help');
  });

  it('re-lays out on resize, down to a compact screen and back', async () => {
    const { store } = backfillRun();
    store.getState().pushSample(sample());
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} monitored />));
    await waitForFrame(inst, (t) => t.includes('Locks'), 'full screen');
    setSize(inst, 120, 40);
    let f = await waitForFrame(inst, (t) => t.split('\n').some((l) => l.length > 100), 'wide screen');
    expectFits(f, 120, 40);
    setSize(inst, 50, 14);
    f = await waitForFrame(inst, (t) => !t.includes('Locks') && t.includes('Backfill'), 'compact screen');
    expectFits(f, 50, 14);
    setSize(inst, 80, 24);
    f = await waitForFrame(inst, (t) => t.includes('Locks') && t.includes('Long queries'), 'back to 80×24');
    expectFits(f, 80, 24);
  });

  it('never shows a password', async () => {
    registerSecret('hunter2-pw');
    const { store, b } = backfillRun();
    b.emit({
      type: 'step.log',
      stepId: 'backfill_amount',
      level: 'warn',
      message: 'reconnecting to postgres://deployer:hunter2-pw@db.internal:5432/shop',
    });
    // 100 columns: the log line names its step and level first, and the redacted URL must be in view.
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} />), { columns: 100, rows: 24 });
    const f = await waitForFrame(inst, (t) => t.includes('reconnecting'), 'log line');
    expect(f).not.toContain('hunter2-pw');
    expect(f).toContain('deployer:***@db.internal');
  });

  it('prints history through <Static> once, above the live region', async () => {
    const { store, b } = backfillRun();
    const inst = renderAt(withProviders(store, recordingIntents(), <App />));
    await waitForFrame(inst, (t) => t.includes('Backfill'), 'screen');
    b.emit({ type: 'step.log', stepId: 'backfill_amount', level: 'info', message: 'unique history line' });
    const f = await waitForFrame(inst, (t) => t.includes('unique history line'), 'history line');
    // ink-testing-library's frame is the static output followed by the live region: the line is in
    // the history and in the log tail, and the history lines come first.
    expect(f.indexOf('run run-test started')).toBeLessThan(f.indexOf('pgrunbook · Demo'));
    expect(f.split('unique history line').length - 1).toBe(2);
  });

  it('says "waiting" in the panel slots before the first sample', async () => {
    const { store } = backfillRun();
    const inst = renderAt(withProviders(store, recordingIntents(), <App history={false} monitored />));
    const f = await waitForFrame(inst, (t) => t.includes('Backfill'), 'screen');
    expect(f).toContain('waiting for the first sample');
  });
});

describe('NO_COLOR', () => {
  it('is honoured even though chalk ignores it', async () => {
    expect(colorsEnabled({ NO_COLOR: '1' })).toBe(false);
    expect(colorsEnabled({ NO_COLOR: '', FORCE_COLOR: '1' })).toBe(true);
    expect(colorsEnabled({ NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(true);
    const saved = chalk.level;
    try {
      chalk.level = 1;
      const { store } = backfillRun();
      const colored = renderAt(withProviders(store, recordingIntents(), <App history={false} />));
      await waitFor(() => (colored.lastFrame() ?? '').includes('Backfill'), 'coloured frame');
      expect(colored.lastFrame()).toMatch(/\u001b\[\d+m/);
      colored.unmount();

      applyColorPolicy({ NO_COLOR: '1' });
      expect(chalk.level).toBe(0);
      const plain = renderAt(withProviders(store, recordingIntents(), <App history={false} />));
      await waitFor(() => (plain.lastFrame() ?? '').includes('Backfill'), 'plain frame');
      expect(plain.lastFrame()).not.toMatch(/\u001b\[[\d;]*m/);
    } finally {
      chalk.level = saved;
    }
  });
});

describe('without a keyboard', () => {
  it('mounts no input handler when stdin cannot do raw mode, and says so', async () => {
    const { store } = backfillRun();
    store.getState().openGate({ id: 'g', stepId: 'amount_not_null', level: 'confirm', title: 'Make NOT NULL', action: 'a', evidence: [] });
    const stdout = Object.assign(new EventEmitter(), {
      columns: 80,
      rows: 24,
      isTTY: false,
      frames: [] as string[],
      write(s: string) {
        this.frames.push(s);
        return true;
      },
    });
    const stdin = new PassThrough() as unknown as NodeJS.ReadStream; // not a TTY: no setRawMode
    const inst = inkRender(withProviders(store, recordingIntents(), <App history={false} />), {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin,
      debug: true,
      patchConsole: false,
      exitOnCtrlC: false,
    });
    await waitFor(() => stripVTControlCharacters(stdout.frames.at(-1) ?? '').includes('no keyboard here'), 'legend without keys');
    const f = stripVTControlCharacters(stdout.frames.at(-1)!);
    expect(f).toContain('no keyboard here (stdin is not a terminal)');
    inst.unmount();
  });
});
