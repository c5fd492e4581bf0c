// Writes of run state (pgrunbook.runs / steps) retried a few times before giving up: a moment of
// trouble on the state tables must not turn a step the database completed into a failure.
import type { Clock } from '../util/clock.js';

const BACKOFF_MS = [250, 1_000, 3_000];

/** Runs `write`, retrying with backoff; returns the last error when every try failed. */
export async function retryRecord(clock: Clock, write: () => Promise<unknown>): Promise<Error | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      await write();
      return undefined;
    } catch (err) {
      if (attempt >= BACKOFF_MS.length) return err as Error;
      await clock.sleep(BACKOFF_MS[attempt]!);
    }
  }
}
