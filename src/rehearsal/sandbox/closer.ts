// Close-once bookkeeping shared by the sandbox kinds: registered clean-ups run newest first,
// then the sandbox's own teardown; a failing clean-up does not stop the others.
export function makeCloser(teardown: () => Promise<void>): { onClose(fn: () => Promise<void>): void; close(): Promise<void> } {
  const fns: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  return {
    onClose: (fn) => void fns.push(fn),
    close: () =>
      (closing ??= (async () => {
        const errors: unknown[] = [];
        for (const fn of fns.reverse()) await fn().catch((e) => errors.push(e));
        await teardown().catch((e) => errors.push(e));
        if (errors.length) throw errors[0];
      })()),
  };
}
