// The fleet's own journal, behind one interface (`FleetStore`) with two stores: the catalog
// database (fleet-catalog-store.ts), or, when there is none, this local state directory: what was
// asked (runbook, targets, waves, flags) and every target's state and run id, rewritten atomically
// on each change, so `fleet resume` continues after the runner died and `fleet status` shows where
// each target stands. A lock file names the operator who holds the fleet; a second one is refused.
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { InputError, RunLockHeldError } from '../util/runbook-error.js';
import { redactDeep } from '../util/secrets.js';
import type { FleetEvent, TargetStatus } from './fleet-runner.js';
import { type FleetTarget, loadTargetsFile } from './fleet-targets.js';
import type { FailureLimit, WaveSpec } from './fleet-waves.js';

const EVENTS = 'events.jsonl';

export interface FleetRequest {
  runbook: string;
  /** The targets file; absent when the targets come from `targetsQuery` on the catalog database. */
  targets?: string;
  /** `--targets-query`: run on the catalog database, again on resume for fresh credentials. */
  targetsQuery?: string;
  waves: WaveSpec[];
  maxFailures: FailureLimit;
  perServer?: number;
  vars: Record<string, string>;
  /** Secret variables by the environment variable they are read from: never their values. */
  secretVars: Record<string, string>;
  yes: boolean;
  allowIrreversible: boolean;
  journalDir: string;
  /** `rollback`: every target runs the runbook's rollback phase (`fleet run --phase rollback`). */
  phase?: 'rollback';
  /** A rollback fleet: the fleet it undoes, its targets in order, and those left alone with why. */
  rollback?: { of: string; order: string[]; skipped: { name: string; why: string }[] };
}

export interface TargetEntry {
  status: TargetStatus | 'running';
  wave: number;
  runId?: string;
  reason?: string;
  at: string;
}

export interface FleetLogEntry {
  at: string;
  type: string;
  [field: string]: unknown;
}

export interface FleetStateData {
  version: 1;
  request: FleetRequest;
  status: 'running' | 'completed' | 'halted';
  haltReason?: string;
  startedAt: string;
  /** Every target's name in order, when known (status lists those not started too). */
  order?: string[];
  targets: Record<string, TargetEntry>;
}

/**
 * Where a fleet keeps its journal and its operator lock. The runner writes a target's `running`
 * entry (with its run id) before that run starts, so a fleet killed at any point resumes it.
 */
export interface FleetStore {
  readonly data: FleetStateData;
  /** The options that name this fleet in another command (`--state-dir DIR`), never a password. */
  readonly resumeArgs: string;
  setTarget(name: string, entry: Omit<TargetEntry, 'at'>): Promise<void>;
  /** A fleet-level event (waves, halts, gate decisions) for the fleet's log, redacted. */
  record(e: FleetEvent): Promise<void>;
  /** The logged events with their time, oldest first, over every life of the fleet. */
  events(): Promise<FleetLogEntry[]>;
  /** The targets in order, with URLs as their source gives them now (credentials included). */
  currentTargets(): Promise<FleetTarget[]>;
  finish(status: 'completed' | 'halted', haltReason?: string): Promise<void>;
  /** Takes the fleet for this process; a live holder elsewhere is refused with its name (exit 3). */
  lock(): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

interface Holder {
  user: string;
  host: string;
  pid: number;
  since: string;
}

export class FleetState implements FleetStore {
  private constructor(
    readonly dir: string,
    readonly data: FleetStateData,
  ) {}

  get resumeArgs(): string {
    return `--state-dir ${this.dir}`;
  }

  static create(dir: string, request: FleetRequest, order?: string[]): FleetState {
    if (exists(join(dir, 'fleet.json'))) {
      const old = FleetState.open(dir);
      if (old.data.status !== 'completed') {
        old.takeLock()(); // a live holder is named (exit 3)
        throw new InputError(
          `${dir} holds an unfinished fleet (${old.data.status})`,
          `continue it with \`pgrunbook fleet resume --state-dir ${dir}\`, or pick another --state-dir`,
        );
      }
    }
    mkdirSync(dir, { recursive: true });
    const s = new FleetState(dir, { version: 1, request, status: 'running', startedAt: new Date().toISOString(), order, targets: {} });
    s.save();
    return s;
  }

  /**
   * The rollback of the deploy fleet in `dir`, kept in the same directory so `fleet resume` and
   * `fleet status` find it; the deploy's state and events move aside to deploy.json and deploy-events.jsonl.
   */
  static createRollback(deploy: FleetState, request: FleetRequest, order: string[]): FleetState {
    const dir = deploy.dir;
    deploy.takeLock()(); // a live deploy runner is named (exit 3)
    renameSync(join(dir, 'fleet.json'), join(dir, 'deploy.json'));
    if (exists(join(dir, EVENTS))) renameSync(join(dir, EVENTS), join(dir, 'deploy-events.jsonl'));
    const s = new FleetState(dir, { version: 1, request, status: 'running', startedAt: new Date().toISOString(), order, targets: {} });
    s.save();
    return s;
  }

  static open(dir: string): FleetState {
    let text: string;
    try {
      text = readFileSync(join(dir, 'fleet.json'), 'utf8');
    } catch {
      throw new InputError(`no fleet state in ${dir}`, 'pass the --state-dir the fleet was run with');
    }
    return new FleetState(dir, JSON.parse(text) as FleetStateData);
  }

  async setTarget(name: string, entry: Omit<TargetEntry, 'at'>): Promise<void> {
    this.data.targets[name] = { ...entry, at: new Date().toISOString() };
    this.save();
  }

  async record(e: FleetEvent): Promise<void> {
    appendFileSync(join(this.dir, EVENTS), `${JSON.stringify(redactDeep({ at: new Date().toISOString(), ...e }))}\n`);
  }

  async events(): Promise<FleetLogEntry[]> {
    let text: string;
    try {
      text = readFileSync(join(this.dir, EVENTS), 'utf8');
    } catch {
      return [];
    }
    // A line cut by a kill -9 mid-write is skipped, not fatal.
    return text.split('\n').flatMap((line) => {
      try {
        return line.trim() ? [JSON.parse(line) as FleetLogEntry] : [];
      } catch {
        return [];
      }
    });
  }

  currentTargets(): Promise<FleetTarget[]> {
    return loadTargetsFile(this.data.request.targets!);
  }

  async finish(status: 'completed' | 'halted', haltReason?: string): Promise<void> {
    this.data.status = status;
    this.data.haltReason = haltReason;
    this.save();
  }

  async lock(): Promise<() => Promise<void>> {
    const unlock = this.takeLock();
    return async () => unlock();
  }

  async close(): Promise<void> {}

  private takeLock(): () => void {
    const file = join(this.dir, 'lock');
    const me: Holder = { user: userInfo().username, host: hostname(), pid: process.pid, since: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
        return () => rmSync(file, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readHolder(file);
        if (holder && !deadHere(holder)) {
          throw new RunLockHeldError(
            `the fleet in ${this.dir} is held by ${holder.user}@${holder.host} (pid ${holder.pid}) since ${holder.since}; nothing was started`,
          );
        }
        rmSync(file, { force: true }); // its holder died on this host: stale
      }
    }
    throw new RunLockHeldError(`could not take the fleet lock ${file}`);
  }

  private save(): void {
    const file = join(this.dir, 'fleet.json');
    writeFileSync(`${file}.tmp`, `${JSON.stringify(this.data, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  }
}

function exists(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

function deadHere(h: Holder): boolean {
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
