// `pgrunbook status | head -2`: when the reader closes the pipe early, a command stops quietly with
// the exit code it had, instead of dying on an unhandled EPIPE. Commands that must react (run,
// rehearse: interrupt and journal it) add their own listener through stdoutWriter; this one then
// stays out of the way.
const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

export function exitQuietlyOnClosedStdout(stream: NodeJS.WriteStream = process.stdout): void {
  const onError = (err: NodeJS.ErrnoException) => {
    if (stream.listenerCount('error') > 1) return; // a command's own handler decides
    if (CLOSED.has(err.code ?? '')) process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  };
  stream.on('error', onError);
}
