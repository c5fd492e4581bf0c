// A `where:` backfill whose first key ranges match nothing walks them many times faster than it can
// write the rows further on. low_throughput compares a batch with batches that wrote a like share of
// their keys, so the change of density alone does not read as the server slowing down.
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { counterHistogram, createStateSchema, runStep } from './helpers.js';

// The rule reads batch times only, the same on every major: one server is enough.
describe('a sparse where: backfill', () => {
  const db = useTestDatabase();

  it('walks the empty ranges, then writes the dense ones, without a low_throughput back-off', async () => {
    await createStateSchema(db.pool);
    // Rows above 300,000 need the fill; every write also maintains two indexes on wide text.
    await db.query('create table sparse (id bigint primary key, counter int not null default 0, due boolean not null, note text)');
    await db.query('create index on sparse (note)');
    await db.query('create index on sparse (counter, note)');
    await db.query(`insert into sparse (id, due) select g, g > 300000 from generate_series(1, 380000) g`);
    await db.query('analyze sparse');
    const { ctx, result, error } = await runStep(db.url, {
      table: 'sparse',
      set: `counter = counter + 1, note = repeat(md5(id::text), 8)`,
      where: 'due',
      // The empty ranges last past the warm-up (5 batches and 2 s), as on a big table. Before bands,
      // the dense ranges read as a fall to under 10% and backed off up to 10 s a batch (60 s timeout).
      pause: '400ms',
    });
    expect(error).toBeUndefined();
    expect(await counterHistogram(db, 'sparse')).toEqual({ '0': 300000, '1': 80000 });
    const fills = ctx.events.flatMap((e) => (e.type === 'step.throttle' && e.stepId === 'fill' ? [e] : []));
    expect(fills.filter((e) => e.reason === 'low_throughput')).toEqual([]);
    expect(result.rowsDone).toBe(80000);
  });
});
