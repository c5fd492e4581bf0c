// The Workload panel fed by samples captured from a real run (test/monitor/workload-watch.test.ts with
// CAPTURE_WORKLOAD=1, PostgreSQL 18 under pgbench): statements with their latency against the mean
// before the run and calls/s, a session waiting on a row, and the one line without the extension.
import { readFileSync } from 'node:fs';
import React from 'react';
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import type { MonitorSample } from '../../../src/monitor/monitor-types.js';
import { WorkloadPanel } from '../../../src/ui/panels/workload-panel.js';
import { lines } from './support.js';

function captured(name: string): MonitorSample {
  const part = JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
  return {
    at: 0,
    pollMs: 1,
    serverVersionNum: 180000,
    locks: [],
    longQueries: [],
    standbys: [],
    connectionsByState: {},
    indexBuilds: [],
    notes: [],
    ...part,
  };
}

describe('WorkloadPanel', () => {
  const loaded = captured('workload-sample.pg18.json');
  const w = loaded.workload!;

  it('shows each statement with its mean now, the ratio to its mean before the run, and calls/s', () => {
    const l = lines(render(<WorkloadPanel sample={loaded} width={100} height={8} />).lastFrame());
    expect(l[0]).toMatch(/^── Workload · orders · 1 waiting ─+$/);
    expect(l[1]).toMatch(/^WAL [\d.]+ \S+\/s · checkpoints 0 requested \/ 0 timed · 0 buffers written$/);
    expect(l[2]).toMatch(/^ +mean vs before +calls statement$/);
    const u = w.statements[0]!;
    const ratio = (u.meanMs / u.baselineMeanMs!).toFixed(1);
    expect(l[3]).toBe(
      `${`${u.meanMs.toFixed(2)}ms`.padStart(8)} ${`${ratio}x ${u.baselineMeanMs!.toFixed(2)}ms`.padEnd(13)} ${`${Math.round(u.callsPerSec!)}/s `.padStart(7)}${u.query}`,
    );
    expect(l.find((x) => x.includes('UPDATE orders SET v = v WHERE id = $1'))).toMatch(/ new +\d+\/s /);
    const wait = w.lockWaits[0]!;
    expect(l.find((x) => x.startsWith('waits'))).toBe(
      `waits ${(wait.waitMs / 1000).toFixed(1)}s pid ${wait.pid} transactionid ShareLock on orders: UPDATE orders SET v = v + 1 WHERE id = 1`,
    );
  });

  it('fits the 2×2 grid cell: every line cut to the width, extra rows counted', () => {
    const l = lines(render(<WorkloadPanel sample={loaded} width={38} height={4} />).lastFrame());
    expect(l).toHaveLength(4);
    for (const x of l) expect(x.length).toBeLessThanOrEqual(38);
    expect(l[3]).toMatch(/^… \d+ more$/);
  });

  it('says in one line how to enable pg_stat_statements when the extension is missing', () => {
    const l = lines(render(<WorkloadPanel sample={captured('workload-no-extension.pg18.json')} width={200} height={6} />).lastFrame());
    expect(l[0]).toMatch(/^── Workload · orders ─+$/);
    expect(l[2]).toBe(
      'pg_stat_statements unreadable: run `CREATE EXTENSION pg_stat_statements` in this database (the library must be in shared_preload_libraries)',
    );
    expect(l.slice(3).every((x) => x.trim() === '')).toBe(true);
  });
});
