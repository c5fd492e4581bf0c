// Terminal size that follows resizes. Ink re-lays out on 'resize' itself, but not in CI mode and
// not for our own height budget, so the layout listens too.
import { useEffect, useState } from 'react';
import { useStdout } from 'ink';

export interface TermSize {
  columns: number;
  rows: number;
}

export function readSize(stdout: { columns?: number; rows?: number }): TermSize {
  return { columns: stdout.columns && stdout.columns > 0 ? stdout.columns : 80, rows: stdout.rows && stdout.rows > 0 ? stdout.rows : 24 };
}

export function useTerminalSize(): TermSize {
  // Ink types stdout as a plain writable; a TTY (or a test's fake terminal) also carries columns/rows.
  const stdout: NodeJS.WritableStream & { columns?: number; rows?: number } = useStdout().stdout;
  const [size, setSize] = useState(() => readSize(stdout));
  useEffect(() => {
    const onResize = () => {
      const next = readSize(stdout);
      setSize((prev) => (prev.columns === next.columns && prev.rows === next.rows ? prev : next));
    };
    stdout.on('resize', onResize);
    onResize();
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
