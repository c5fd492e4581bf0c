// The Long queries panel over real sessions: an idle-in-transaction session and a long statement.
import React from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { useTestDatabase } from '../../support/pg.js';
import { createTable, longTransaction, type LongTransaction } from '../../monitor/support/scenarios.js';
import { LongQueriesPanel } from '../../../src/ui/panels/long-queries-panel.js';
import type { MonitorSample } from '../../../src/monitor/monitor-types.js';
import { lines, realSample } from './support.js';

const db = useTestDatabase();

describe('LongQueriesPanel', () => {
  let lt: LongTransaction;
  let sample: MonitorSample;
  let strict: MonitorSample;
  let limited: MonitorSample;
  const role = `lq_${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(async () => {
    await createTable(db.pool, 'orders');
    lt = await longTransaction(db.url, db.pool, 'orders');
    await new Promise((r) => setTimeout(r, 100));
    sample = await realSample(db.url, { longQuerySeconds: 0.05 });
    strict = await realSample(db.url, { longQuerySeconds: 3600 });
    await db.query(`create role ${role} login`);
    const u = new URL(db.url);
    u.username = role;
    limited = await realSample(u.toString(), { longQuerySeconds: 3600 });
  });
  afterAll(async () => {
    await lt?.cleanup();
    await db.query(`drop role if exists ${role}`);
  });

  it('lists each session with state, duration, transaction age, application and query (80 columns)', () => {
    const l = lines(render(<LongQueriesPanel sample={sample} width={80} height={6} />).lastFrame());
    expect(l[0]).toMatch(/^── Long queries · \d+ over 50ms · oldest xact \S+ ─+$/);
    const idle = l.find((x) => x.includes(String(lt.idleInTx.pid)))!;
    expect(idle).toMatch(new RegExp(`^ *${lt.idleInTx.pid} {2}idle-tx +\\S+ xact +\\S+ app:report +update orders set v = v`));
    const busy = l.find((x) => x.includes(String(lt.sleeper.pid)))!;
    expect(busy).toMatch(new RegExp(`^ *${lt.sleeper.pid} {2}active +\\S+ xact +\\S+ app:batch +select pg_sleep\\(60\\)`));
    for (const line of l) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('keeps the essentials in a 40-column cell: pid, state, the age that matters, the query', () => {
    const l = lines(render(<LongQueriesPanel sample={sample} width={40} height={4} />).lastFrame());
    const idle = l.find((x) => x.includes(String(lt.idleInTx.pid)))!;
    expect(idle).toMatch(new RegExp(`^ *${lt.idleInTx.pid} {2}idle-tx \\S+ update orders set`));
    for (const line of l) expect(line.length).toBeLessThanOrEqual(40);
  });

  it('says when none is over the threshold', () => {
    expect(lines(render(<LongQueriesPanel sample={strict} width={80} height={3} />).lastFrame())[0]).toMatch(
      /^── Long queries · none over 1h00m ─+$/,
    );
  });

  it('tells a role without pg_read_all_stats that sessions are hidden', () => {
    const l = lines(render(<LongQueriesPanel sample={limited} width={80} height={3} />).lastFrame());
    expect(l[1]).toMatch(/^\d+ sessions of other roles hidden \(grant pg_read_all_stats\)$/);
  });
});
