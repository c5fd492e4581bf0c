// Operator intents for a running step (pause, batch size, pause between batches).
import type { StepControl } from './step-kind.js';

export class RunControl implements StepControl {
  private _paused = false;
  private _batchSize?: number;
  private _pauseMs?: number;
  private listeners = new Set<() => void>();

  get paused(): boolean {
    return this._paused;
  }
  get batchSize(): number | undefined {
    return this._batchSize;
  }
  get pauseMs(): number | undefined {
    return this._pauseMs;
  }

  setPaused(p: boolean): void {
    if (this._paused === p) return;
    this._paused = p;
    this.changed();
  }
  setBatchSize(n: number | undefined): void {
    this._batchSize = n === undefined ? undefined : Math.max(1, Math.round(n));
    this.changed();
  }
  setPauseMs(ms: number | undefined): void {
    this._pauseMs = ms === undefined ? undefined : Math.max(0, Math.round(ms));
    this.changed();
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  waitWhilePaused(signal: AbortSignal): Promise<void> {
    if (!this._paused) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        off();
        signal.removeEventListener('abort', onAbort);
      };
      const off = this.onChange(() => {
        if (!this._paused) {
          done();
          resolve();
        }
      });
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
