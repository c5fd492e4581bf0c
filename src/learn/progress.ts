// Progress and scores, kept in a small JSON file under the user's state directory
// ($XDG_STATE_HOME/pgrunbook/learn.json, else ~/.local/state/pgrunbook/learn.json).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface LessonProgress {
  runs: number;
  lastAt: string;
  /** The last run's headline figures, as measured. */
  naiveWorstMs: number;
  safeWorstMs: number;
  passed: boolean;
  drillScore?: number;
  drillMax?: number;
}

export type Progress = Record<string, LessonProgress>;

export function defaultProgressFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'pgrunbook', 'learn.json');
}

export function readProgress(file: string): Progress {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { lessons?: Progress };
    return data.lessons ?? {};
  } catch {
    // No file yet (or a broken one): start afresh rather than refuse to teach.
    return {};
  }
}

export function recordProgress(file: string, id: string, p: Omit<LessonProgress, 'runs' | 'lastAt'>): Progress {
  const all = readProgress(file);
  all[id] = { ...p, runs: (all[id]?.runs ?? 0) + 1, lastAt: new Date().toISOString() };
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: 1, lessons: all }, null, 2)}\n`);
  renameSync(tmp, file);
  return all;
}
