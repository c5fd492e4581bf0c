// What one `pgrunbook learn` session shares between its lessons: the database, the composition
// root's pieces, the stores the screen reads, and how the trainee is asked and told things.
import type pg from 'pg';
import type { RunnerFactory } from '../engine/runner.js';
import type { ConnectionSpec } from '../pg/connection.js';
import type { OutputMode } from '../render/output.js';
import type { KindTable } from '../runbook/kind-table.js';
import type { UiStore } from '../ui/store.js';
import type { RunWiring } from '../wiring/run-wiring.js';
import type { DrillQuestion, LearnStore } from './learn-store.js';

export interface LearnContext {
  mode: OutputMode;
  url: string;
  connection: ConnectionSpec;
  /** pgrunbook's own session for set-up, resets and the drill's actions. */
  admin: pg.Client;
  serverVersion: string;
  kinds: KindTable;
  newRunner: RunnerFactory;
  wiring: RunWiring;
  ui: UiStore;
  store: LearnStore;
  /** Synthetic traffic, operations per second. */
  rate: number;
  /** Tells the trainee a line (plain/JSON output, or the screen's status). */
  say(text: string): void;
  /** Asks the drill's question; resolves with the key of the answer. */
  ask(lessonId: string, q: DrillQuestion): Promise<string>;
}
