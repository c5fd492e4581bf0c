// What the lesson screen shows besides the run's own store: the phase, the script being told, the
// application's latency as measured, the drill question, and the summary. One writer (the lesson),
// many readers (the Ink screen, and the plain/JSON lines when there is no terminal).
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { LiveFigures, PhaseFigures } from './latency-recorder.js';
import type { Lesson } from './lesson.js';
import type { Progress } from './progress.js';

export type LessonPhase = 'menu' | 'starting' | 'naive' | 'reset' | 'safe' | 'summary';

export interface DrillQuestion {
  text: string;
  choices: Array<{ key: string; label: string }>;
}

export interface LearnState {
  phase: LessonPhase;
  lessonTitle?: string;
  /** The explanation for this phase, from the lesson's script. */
  script: string;
  /** One line of what is happening now (status, the cap firing...). */
  status?: string;
  barMs: number;
  capMs: number;
  live?: LiveFigures;
  /** A replication-lag lesson's standby right now, in one line. */
  standby?: string;
  /** The phase's counter so far: requests delayed over the bar, the worst wait. */
  counter?: PhaseFigures;
  question?: DrillQuestion;
  /** The side-by-side summary and the drill's score, once measured. */
  summary: string[];
  lessons: Lesson[];
  progress: Progress;
}

export type LearnStore = StoreApi<LearnState>;

export function createLearnStore(init: Partial<LearnState> = {}): LearnStore {
  return createStore<LearnState>(() => ({
    phase: 'starting',
    script: '',
    summary: [],
    barMs: 0,
    capMs: 0,
    lessons: [],
    progress: {},
    ...init,
  }));
}
