// Runs a few corpus entries on a fresh database of the suite's first major: what each focused
// test compares with the server (the whole corpus runs in empirical.test.ts).
import { createDatabase, majors } from '../support/pg.js';
import { runCorpus, type CorpusResult } from './observe.js';

export async function observeEntries(prefix: string, only: string[]): Promise<CorpusResult> {
  const major = majors()[0]!;
  const db = await createDatabase(major, prefix);
  try {
    return await runCorpus({ url: db.url, major, only });
  } finally {
    await db.drop();
  }
}
