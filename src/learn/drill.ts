// A drill: during the safe way a fault is injected, the trainee is asked what to do, pgrunbook
// does it, and the answer is scored against what an experienced operator would do. This picks
// the fault's file; a bad_deploy drill is asked by the rollback lesson itself (bad-deploy.ts),
// after the run, so it is not armed here.
import type { Runner } from '../engine/runner.js';
import type { ArmedDrill } from './drill-answer.js';
import { armIdleBlocker } from './drill-idle-blocker.js';
import { armLaggingStandby } from './drill-lagging-standby.js';
import { armLongTransaction } from './drill-long-transaction.js';
import { armWriteBurst } from './drill-write-burst.js';
import type { LatencyRecorder } from './latency-recorder.js';
import type { LearnContext } from './learn-context.js';
import type { Drill, Lesson } from './lesson.js';
import type { LessonStandby } from './lesson-standby.js';

export async function armDrill(
  ctx: LearnContext,
  lesson: Lesson,
  drill: Drill,
  runner: Runner,
  recorder: LatencyRecorder,
  standby: LessonStandby | undefined,
): Promise<ArmedDrill | undefined> {
  if (drill.fault === 'idle_blocker') return armIdleBlocker(ctx, lesson, drill, runner);
  if (drill.fault === 'long_transaction') return armLongTransaction(ctx, lesson, drill, runner);
  if (drill.fault === 'write_burst') return armWriteBurst(ctx, lesson, drill, runner, recorder);
  if (drill.fault === 'lagging_standby') return armLaggingStandby(ctx, lesson, drill, runner, standby);
  return undefined;
}
