// Log pager state. `top` is the seq of the first visible line, or null to follow the end: new
// lines then scroll in; once scrolled, the view stays put while lines arrive. Pure.
export interface PagerState {
  top: number | null;
}

export type PagerAction = 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'follow';

export const initialPager: PagerState = { top: null };

/** Index of the first visible line. */
export function firstIndex(s: PagerState, seqs: readonly number[], height: number): number {
  const maxStart = Math.max(0, seqs.length - height);
  if (s.top === null) return maxStart;
  const i = seqs.findIndex((q) => q >= s.top!);
  return i < 0 ? maxStart : Math.min(i, maxStart);
}

export function pagerReducer(s: PagerState, a: PagerAction, seqs: readonly number[], height: number): PagerState {
  const maxStart = Math.max(0, seqs.length - height);
  const cur = firstIndex(s, seqs, height);
  const at = (i: number): PagerState => {
    const clamped = Math.max(0, Math.min(maxStart, i));
    // Scrolling back to the very end means following again.
    return clamped >= maxStart ? { top: null } : { top: seqs[clamped]! };
  };
  switch (a) {
    case 'up':
      return at(cur - 1);
    case 'down':
      return at(cur + 1);
    case 'pageUp':
      return at(cur - Math.max(1, height - 1));
    case 'pageDown':
      return at(cur + Math.max(1, height - 1));
    case 'top':
      return seqs.length > height ? { top: seqs[0]! } : { top: null };
    case 'follow':
      return { top: null };
  }
}
