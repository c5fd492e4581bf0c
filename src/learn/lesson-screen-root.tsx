// The lesson screen as an element for the run wiring to mount (kept apart so that the plain and
// JSON modes never load Ink).
import type React from 'react';
import type { LearnStore } from './learn-store.js';
import { LearnScreen, type ScreenAnswers } from './lesson-screen.js';

export function learnScreen(store: LearnStore, answers: ScreenAnswers): React.ReactNode {
  return <LearnScreen store={store} answers={answers} />;
}
