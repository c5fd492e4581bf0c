// The fleet's own journal in a local state directory: what was asked (runbook, targets file, waves,
// flags) and every target's state and run id, rewritten atomically on each change, so `fleet
// resume` continues after the runner died and `fleet status` shows where each target stands. A lock
// file names the operator who holds the fleet; a second one is refused.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { InputError, RunLockHeldError } from '../util/runbook-error.js';
import type { TargetStatus } from './fleet-runner.js';
import type { FailureLimit, WaveSpec } from './fleet-waves.js';

export interface FleetRequest {
  runbook: string;
  targets: string;
  waves: WaveSpec[];
  maxFailures: FailureLimit;
  perServer?: number;
  vars: Record<string, string>;
  /** Secret variables by the environment variable they are read from: never their values. */
  secretVars: Record<string, string>;
  yes: boolean;
  allowIrreversible: boolean;
  journalDir: string;
}

export interface TargetEntry {
  status: TargetStatus | 'running';
  wave: number;
  runId?: string;
  reason?: string;
  at: string;
}

export interface FleetStateData {
  version: 1;
  request: FleetRequest;
  status: 'running' | 'completed' | 'halted';
  haltReason?: string;
  startedAt: string;
  targets: Record<string, TargetEntry>;
}

interface Holder {
  user: string;
  host: string;
  pid: number;
  since: string;
}

export class FleetState {
  private constructor(
    readonly dir: string,
    readonly data: FleetStateData,
  ) {}

  static create(dir: string, request: FleetRequest): FleetState {
    if (exists(join(dir, 'fleet.json'))) {
      const old = FleetState.open(dir);
      if (old.data.status !== 'completed') {
        old.lock()(); // a live holder is named (exit 3)
        throw new InputError(
          `${dir} holds an unfinished fleet (${old.data.status})`,
          `continue it with \`pgrunbook fleet resume --state-dir ${dir}\`, or pick another --state-dir`,
        );
      }
    }
    mkdirSync(dir, { recursive: true });
    const s = new FleetState(dir, { version: 1, request, status: 'running', startedAt: new Date().toISOString(), targets: {} });
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

  setTarget(name: string, entry: Omit<TargetEntry, 'at'>): void {
    this.data.targets[name] = { ...entry, at: new Date().toISOString() };
    this.save();
  }

  finish(status: 'completed' | 'halted', haltReason?: string): void {
    this.data.status = status;
    this.data.haltReason = haltReason;
    this.save();
  }

  /** Takes the fleet for this process; a live holder elsewhere is refused with its name (exit 3). */
  lock(): () => void {
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
