// What the runner receives from the composition root (src/cli/composition-root.ts) besides the
// step kinds: how to open sessions on the target, and an optional probe for the sessions that hold
// locks on what a step is about to lock. The engine itself opens nothing and queries no catalog.
import type pg from 'pg';
import type { Queryable } from '../pg/queryable.js';
import type { Evidence } from './gates.js';

export interface ConnectionFactory {
  /** A dedicated session (the run lock, the journal); not yet connected. */
  client(applicationName: string): pg.Client;
  /** A pool for the steps. */
  pool(applicationName: string, max: number): pg.Pool;
}

/** Gate evidence: who holds locks on `relations` now (src/monitor/blockers-now.ts). */
export type BlockersProbe = (db: Queryable, relations: string[]) => Promise<Evidence[]>;

/** The host's figures over the window between two scrapes (or a Prometheus rate window). */
export interface HostFigures {
  /** Seconds the rates cover. */
  seconds: number;
  /** Share of CPU time neither idle nor waiting on I/O, 0-100 over all CPUs. */
  cpuBusyPct: number;
  /** CPUs the host has; null when the source does not say. */
  cpus: number | null;
  /** Share of CPU time idle while waiting on I/O, 0-100. */
  ioWaitPct: number;
  /** Average requests in flight on the busiest disk; null when the source has no disk figures. */
  diskQueueDepth: number | null;
  /** Average time one disk request took (reads and writes); null when no request completed. */
  diskAwaitMs: number | null;
  memAvailableBytes: number | null;
  memTotalBytes: number | null;
}

/** `figures` is null until a second scrape gives rates; a failed read carries what the operator checks. */
export type HostReading = { ok: true; figures: HostFigures | null } | { ok: false; note: string };

/** CPU, I/O wait, disks and memory of the database host (node_exporter or Prometheus), per run. */
export interface HostSignals {
  /** Where the figures come from, for notes (a URL without credentials). */
  readonly source: string;
  read(): Promise<HostReading>;
}
