// The run keys (p + - [ ] space l c a q ? and Ctrl+C), resolved through the keymap. In a type gate
// or an overlay only Ctrl+C is handled here; the widget's own hook owns the rest.
import { useRef } from 'react';
import { useInput } from 'ink';
import type { Intents } from './intents.js';
import { nextBatchSize, nextPauseMs } from './intents.js';
import { matchAction, type KeyContext } from './keymap.js';
import { cancellableSession } from '../monitor/cancel.js';
import { activeBackfill, isFinished, runningStep, type UiStore } from './store.js';
import { fmtInt } from './format.js';
import { formatMs } from '../util/units.js';

export type RunKeyContext = Exclude<KeyContext, 'always'>;

/** Handles one resolved key against the store and intents. Exported for tests. */
/** A value just requested with + - [ ]: the base for the next press until the backfill reports it. */
export interface PendingTweaks {
  batch?: { value: number; at: number };
  pause?: { value: number; at: number };
}

const PENDING_MS = 3000;

function pendingValue(p: { value: number; at: number } | undefined, reported: number, now: number): number {
  return p && now - p.at < PENDING_MS && p.value !== reported ? p.value : reported;
}

export function runKey(
  store: UiStore,
  intents: Intents,
  context: RunKeyContext,
  input: string,
  key: Parameters<typeof matchAction>[2],
  pending: PendingTweaks,
  now: number = Date.now(),
): void {
  const action = matchAction('main', input, key);
  const s = store.getState();
  const notice = (t: string) => s.setNotice(t);
  if (action === 'interrupt') {
    notice('stopping at a safe point… (the run stays resumable)');
    intents.quit();
    return;
  }
  // Outside the main and confirm-gate contexts, only Ctrl+C belongs to us.
  if (context !== 'main' && context !== 'gate') return;
  const bf = activeBackfill(s.run);
  const running = bf && bf.step.status === 'running' ? bf : undefined;
  switch (action) {
    case 'help':
      s.setOverlay('help');
      return;
    case 'log':
      s.setOverlay('log');
      return;
    case 'freeze':
      s.toggleFreeze();
      notice(store.getState().frozen ? 'panels frozen (space thaws them)' : 'panels live again');
      return;
    case 'togglePause':
      if (isFinished(s.run)) return notice('the run has ended; nothing to pause');
      intents.togglePause();
      notice(s.run.status === 'paused' ? 'resuming…' : 'pausing after the current batch… (p resumes)');
      return;
    case 'batchUp':
    case 'batchDown': {
      if (!running) return notice('no backfill is running: + and - set its batch size');
      const base = pendingValue(pending.batch, running.progress.batchSize, now);
      const next = nextBatchSize(base, action === 'batchUp' ? 1 : -1);
      pending.batch = { value: next, at: now };
      intents.setBatchSize(next);
      notice(`batch size → ${fmtInt(next)} from the next batch`);
      return;
    }
    case 'pauseDown':
    case 'pauseUp': {
      if (!running) return notice('no backfill is running: [ and ] set its pause between batches');
      const base = pendingValue(pending.pause, running.progress.pauseMs, now);
      const next = nextPauseMs(base, action === 'pauseUp' ? 1 : -1);
      pending.pause = { value: next, at: now };
      intents.setPauseMs(next);
      notice(`pause between batches → ${formatMs(next)}`);
      return;
    }
    case 'cancelOwn': {
      // The live sample, not a frozen one: the pid must still be waiting now.
      const ours = cancellableSession(s.sample);
      if (!ours) return notice('none of our statements is waiting for a lock');
      intents.cancelOwnStatement(ours.pid);
      notice(`cancelling our statement in pid ${ours.pid} (${ours.queuedBehind} queued behind it)`);
      return;
    }
    case 'abort':
      if (isFinished(s.run)) return notice('the run has ended; nothing to abort');
      s.setOverlay('confirm-abort');
      return;
    case 'quit':
      if (runningStep(s.run) && !isFinished(s.run)) {
        s.setOverlay('confirm-quit');
        return;
      }
      notice(isFinished(s.run) ? 'bye' : 'stopping at a safe point… (the run stays resumable)');
      intents.quit();
      return;
    default:
      return;
  }
}

export function useRunKeys(opts: { store: UiStore; intents: Intents; context: RunKeyContext; active: boolean }): void {
  const pending = useRef<PendingTweaks>({});
  useInput((input, key) => runKey(opts.store, opts.intents, opts.context, input, key, pending.current), { isActive: opts.active });
}
