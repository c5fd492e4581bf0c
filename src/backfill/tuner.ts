// Batch size tuning: keep each batch transaction within the target duration, so row locks are
// held briefly whatever the row width, index count or server load. The target is treated as the
// ceiling for ordinary batches: the tuner aims at 60% of it, so normal variance (WAL writes,
// checkpoints, a busy CPU) still lands under it. The model is a smoothed cost per
// key (ms / key), so one slow outlier moves the size only part of the way; growth is capped at 2x
// per batch (a cold cache can make the first batches look cheap), while a batch well over target
// cuts the size to that batch's own share of the target at once, because it holds locks now.
export interface TunerOptions {
  initial: number;
  min: number;
  max: number;
  targetMs: number;
  /** Weight of the newest sample in the smoothed cost (0..1]. */
  alpha?: number;
}

/** Share of the target the tuner aims typical batches at. */
export const AIM_FRACTION = 0.6;

export class BatchTuner {
  private _size: number;
  private msPerKey: number | undefined;
  private readonly alpha: number;

  constructor(private readonly opts: TunerOptions) {
    this.alpha = opts.alpha ?? 0.5;
    this._size = this.clamp(opts.initial);
  }

  get size(): number {
    return this._size;
  }

  get targetMs(): number {
    return this.opts.targetMs;
  }

  /** A batch of `keys` rows of key range took `ms` (the whole transaction). */
  observe(keys: number, ms: number): void {
    if (keys <= 0 || !(ms >= 0)) return;
    // The last batch of a pass is short by nature; a fast short batch says little about the cost.
    if (keys < this._size / 2 && ms < this.opts.targetMs * AIM_FRACTION) return;
    const sample = Math.max(ms, 0.01) / keys;
    this.msPerKey = this.msPerKey === undefined ? sample : this.alpha * sample + (1 - this.alpha) * this.msPerKey;
    const aim = this.opts.targetMs * AIM_FRACTION;
    const ideal = aim / this.msPerKey;
    const slowNow = ms > this.opts.targetMs * 1.5;
    // A batch well over target shrinks right away on its own cost, not the smoothed one.
    const wanted = slowNow ? Math.min(ideal, (aim / ms) * keys) : ideal;
    const next = Math.min(wanted, this._size * 2);
    this._size = this.clamp(slowNow ? next : Math.max(next, this._size / 8));
  }

  /** Throttle: cut the size (e.g. 0.5 when sessions queue behind our locks). */
  shrink(factor: number): void {
    this._size = this.clamp(this._size * factor);
    if (this.msPerKey !== undefined) this.msPerKey = Math.max(this.msPerKey, (this.opts.targetMs * AIM_FRACTION) / this._size);
  }

  /** Resume at the size a previous attempt had tuned to. */
  restore(size: number): void {
    this._size = this.clamp(size);
  }

  private clamp(v: number): number {
    return Math.max(this.opts.min, Math.min(this.opts.max, Math.round(v)));
  }
}
