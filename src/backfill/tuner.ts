// Batch size tuning: keep each batch transaction within the target duration, so row locks are
// held briefly whatever the row width, index count or server load. The target is treated as the
// ceiling for ordinary batches: the tuner aims at 60% of it, so normal variance (WAL writes,
// checkpoints, a busy CPU) still lands under it.
//
// The model is `fixed + perKey x keys`, fitted by least squares over recent batches (older ones
// weigh less). The fixed part (round trips, BEGIN/COMMIT, planning) does not shrink with the batch:
// a model of cost per key alone reads a 40 ms commit under load as "every key is expensive" and
// walks the size down to the minimum, where it never recovers. So the size is what fits the aim
// after the fixed cost; when the fixed cost alone eats most of the aim, the per-key part (which is
// when the batch's rows are locked) still gets MIN_KEY_SHARE of it, and the throttle rules, not
// the tuner, space batches out. Growth is capped at 2x per batch (a cold cache can make the first
// batches look cheap), while a batch well over its ceiling cuts the size at once, on that batch's
// own per-key cost, because it holds locks now.
export interface TunerOptions {
  initial: number;
  min: number;
  max: number;
  targetMs: number;
  /** Weight kept by older samples at each new one (0..1): lower forgets faster. */
  decay?: number;
}

/** Share of the target the tuner aims typical batches at. */
export const AIM_FRACTION = 0.6;
/** The per-key part of a batch gets at least this share of the aim, however large the fixed cost. */
export const MIN_KEY_SHARE = 0.5;
/** Sizes closer than this (relative spread) cannot separate fixed from per-key cost. */
const MIN_SPREAD = 0.1;

export class BatchTuner {
  private _size: number;
  private readonly decay: number;
  /** Decayed sums for the weighted least-squares fit of ms = fixed + perKey x keys. */
  private sw = 0;
  private sk = 0;
  private st = 0;
  private skk = 0;
  private skt = 0;
  private fixedMs = 0;
  private perKeyMs: number | undefined;
  /** Slow batches in a row (see `slowBatch`). */
  private slowStreak = 0;

  constructor(private readonly opts: TunerOptions) {
    this.decay = opts.decay ?? 0.7;
    this._size = this.clamp(opts.initial);
  }

  get size(): number {
    return this._size;
  }

  get targetMs(): number {
    return this.opts.targetMs;
  }

  /** The fitted fixed cost per batch (ms), for logs and tests. */
  get fixedCostMs(): number {
    return this.fixedMs;
  }

  /** What a batch is aimed at (ms). */
  private get aimMs(): number {
    return this.opts.targetMs * AIM_FRACTION;
  }

  /** A batch of `keys` rows of key range took `ms` (the whole transaction). */
  observe(keys: number, ms: number): void {
    if (keys <= 0 || !(ms >= 0)) return;
    const aim = this.aimMs;
    // The last batch of a pass is short by nature; a fast short batch says little about the cost.
    if (keys < this._size / 2 && ms < aim) return;
    if (ms > this.opts.targetMs * 1.5) return this.slowBatch(keys, ms);
    this.slowStreak = 0;
    this.fit(keys, Math.max(ms, 0.01));
    const next = Math.min(this.idealSize(), this._size * 2);
    this._size = this.clamp(Math.max(next, this._size / 8));
  }

  /**
   * A batch well over its ceiling holds locks now: the first one cuts the size at once to what its
   * own per-key cost fits in the aim. A spike is often not per key at all (a stalled commit, a
   * checkpoint), so the next slow ones in a row halve the size at most, and none enters the fit:
   * one 200 ms commit must not teach the model that every key costs 100x.
   */
  private slowBatch(keys: number, ms: number): void {
    this.slowStreak++;
    const own = this.keyBudget() / Math.max((ms - this.fixedMs) / keys, 1e-6);
    const next = this.slowStreak === 1 ? own : Math.max(own, this._size / 2);
    this._size = this.clamp(Math.min(next, this._size));
  }

  /** Throttle: cut the size (e.g. 0.5 when sessions queue behind our locks). */
  shrink(factor: number): void {
    this._size = this.clamp(this._size * factor);
    // Keep the model from growing straight back: the current size is at most what fits the aim.
    if (this.perKeyMs !== undefined) this.perKeyMs = Math.max(this.perKeyMs, this.keyBudget() / this._size);
  }

  /** Resume at the size a previous attempt had tuned to. */
  restore(size: number): void {
    this._size = this.clamp(size);
  }

  /** Milliseconds of the aim left for the per-key part. */
  private keyBudget(): number {
    const aim = this.aimMs;
    return Math.max(aim - this.fixedMs, aim * MIN_KEY_SHARE);
  }

  private idealSize(): number {
    return this.keyBudget() / Math.max(this.perKeyMs ?? 1e-6, 1e-6);
  }

  private fit(keys: number, ms: number): void {
    const d = this.decay;
    this.sw = this.sw * d + 1;
    this.sk = this.sk * d + keys;
    this.st = this.st * d + ms;
    this.skk = this.skk * d + keys * keys;
    this.skt = this.skt * d + keys * ms;
    const meanK = this.sk / this.sw;
    const meanT = this.st / this.sw;
    const varK = Math.max(0, this.skk / this.sw - meanK * meanK);
    const covKT = this.skt / this.sw - meanK * meanT;
    const slope = varK > 0 ? covKT / varK : 0;
    if (Math.sqrt(varK) >= MIN_SPREAD * meanK && slope > 0) {
      // Sizes spread enough to tell the two costs apart.
      const fixed = meanT - slope * meanK;
      this.fixedMs = Math.min(Math.max(0, fixed), ms);
    } else {
      // One size (or noise): keep the fixed cost, but never above 80% of what batches take now.
      this.fixedMs = Math.min(this.fixedMs, 0.8 * Math.min(ms, meanT));
    }
    // Per-key cost after the fixed part, smoothed so one outlier moves the size only part of the way.
    const sample = Math.max(ms - this.fixedMs, 0.01) / keys;
    this.perKeyMs = this.perKeyMs === undefined ? sample : 0.5 * sample + 0.5 * this.perKeyMs;
  }

  private clamp(v: number): number {
    return Math.max(this.opts.min, Math.min(this.opts.max, Math.round(v)));
  }
}
