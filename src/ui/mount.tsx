// Mounting the Ink app on the terminal. Colour policy first (NO_COLOR), Ctrl+C handled by the app
// (raw mode swallows SIGINT), and a closed or broken stdout (EPIPE, EIO after an SSH drop) turns
// into one onOutputClosed call instead of an uncaught 'error' event.
import type React from 'react';
import { render, type Instance } from 'ink';
import { App } from './app.js';
import { applyColorPolicy } from './color.js';
import { UiProvider } from './context.js';
import type { Intents } from './intents.js';
import type { UiStore } from './store.js';

export interface MountOptions {
  store: UiStore;
  intents: Intents;
  monitored?: boolean;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** The terminal is gone: stop at a safe point. Called at most once. */
  onOutputClosed?(reason: string): void;
  maxFps?: number;
  /** Route console.* above the live region (default true; off where console is replaced, e.g. tests). */
  patchConsole?: boolean;
  /** Another screen over the same store and intents (`pgrunbook learn`); default: the run screen. */
  screen?: React.ReactNode;
}

export interface MountedUi {
  instance: Instance;
  /** Unmounts (idempotent); the last frame stays on the screen. */
  unmount(): void;
  outputClosed(): boolean;
}

const CLOSED_CODES = new Set(['EPIPE', 'EIO', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'ENOTCONN', 'ECONNRESET']);

/** Listens for a broken terminal stream (either direction); returns a function that removes the listener. */
export function guardOutput(stream: NodeJS.EventEmitter, onClosed: (reason: string) => void): () => void {
  let fired = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (fired) return;
    fired = true;
    onClosed(CLOSED_CODES.has(err.code ?? '') ? `the terminal went away (${err.code})` : `output failed: ${err.message}`);
  };
  stream.on('error', onError);
  return () => stream.off('error', onError);
}

export function mountUi(opts: MountOptions): MountedUi {
  return mountElement(
    <UiProvider store={opts.store} intents={opts.intents}>
      {opts.screen ?? <App monitored={opts.monitored} />}
    </UiProvider>,
    opts,
  );
}

/** What any screen (the run screen, the fleet view) needs from its terminal. */
export type ScreenOptions = Pick<MountOptions, 'stdout' | 'stdin' | 'onOutputClosed' | 'maxFps' | 'patchConsole'>;

/** Mounts a screen with the colour policy, Ctrl+C left to the screen, and the broken-terminal guard. */
export function mountElement(element: React.ReactElement, opts: ScreenOptions): MountedUi {
  applyColorPolicy();
  const stdout = opts.stdout ?? process.stdout;
  let closed = false;
  let instance: Instance | undefined;
  const stdin = opts.stdin ?? process.stdin;
  let told = false;
  const gone = (reason: string) => {
    closed = true;
    try {
      instance?.unmount();
    } catch {
      /* the stream is gone; nothing left to draw on */
    }
    if (told) return;
    told = true;
    opts.onOutputClosed?.(reason);
  };
  const unguard = guardOutput(stdout, gone);
  // A hung-up terminal fails reads too (EIO); that must not become an uncaught 'error'.
  const unguardIn = guardOutput(stdin, gone);
  instance = render(element, {
    stdout,
    stdin,
    exitOnCtrlC: false,
    patchConsole: opts.patchConsole ?? true,
    // 15 frames a second is plenty for gauges and keeps an idle TUI cheap.
    maxFps: opts.maxFps ?? 15,
  });
  let unmounted = false;
  return {
    instance,
    outputClosed: () => closed,
    unmount: () => {
      if (unmounted) return;
      unmounted = true;
      try {
        instance!.unmount();
      } catch {
        /* already gone */
      }
      // Keep a listener: late writes to a dead terminal must not crash the process on the way out.
      unguard();
      unguardIn();
      stdout.on('error', () => {});
      stdin.on('error', () => {});
    },
  };
}
