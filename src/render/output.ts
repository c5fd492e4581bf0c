// Where a run's events go: the Ink TUI, plain lines or JSON lines, and a stdout that survives a
// closed pipe.
export type OutputMode = 'ink' | 'plain' | 'json';

/** Writes to stdout; a closed pipe (EPIPE) calls onClosed once instead of crashing. */
export function stdoutWriter(onClosed: () => void): (s: string) => void {
  let closed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
      if (!closed) {
        closed = true;
        onClosed();
      }
    } else throw err;
  });
  return (s) => {
    if (!closed) process.stdout.write(s);
  };
}
