// One line of run state for `status` and reports.
import type { StepRow } from '../engine/state-store.js';

/**
 * A run's state as an operator needs it: a deploy later undone says so (and how much of it), and
 * a rollback run names the run it undid.
 */
export function runStatusText(status: string, steps: StepRow[]): string {
  const undone = steps.filter((s) => s.phase === 'deploy' && s.status === 'rolled_back').length;
  const deployed = steps.filter((s) => s.phase === 'deploy' && (s.status === 'completed' || s.status === 'rolled_back')).length;
  const undid = [...new Set(steps.map((s) => (s.result as { undoes?: string } | null)?.undoes).filter((x): x is string => !!x))];
  const parts = [status];
  if (undone) parts.push(undone === deployed ? 'rolled back' : `partly rolled back (${undone} of ${deployed} deploy steps undone)`);
  if (undid.length) parts.push(`rollback of ${undid.join(', ')}`);
  return parts.join(', ');
}
