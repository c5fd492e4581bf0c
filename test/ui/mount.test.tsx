import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { guardOutput, mountUi } from '../../src/ui/mount.js';
import { createUiStore } from '../../src/ui/store.js';
import { recordingIntents, waitFor } from './support/harness.js';

const err = (code: string) => Object.assign(new Error(`write ${code}`), { code });

describe('a terminal that goes away', () => {
  it('turns EPIPE / EIO into one onClosed call instead of an uncaught error', () => {
    const s = new EventEmitter();
    const reasons: string[] = [];
    const off = guardOutput(s, (r) => reasons.push(r));
    s.emit('error', err('EPIPE'));
    s.emit('error', err('EIO'));
    expect(reasons).toEqual(['the terminal went away (EPIPE)']);
    off();
    expect(s.listenerCount('error')).toBe(0);
  });

  it('mountUi stops drawing and reports once when stdout breaks', async () => {
    const stdout = Object.assign(new EventEmitter(), {
      columns: 80,
      rows: 24,
      isTTY: true,
      writes: 0,
      write() {
        this.writes++;
        return true;
      },
    });
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
    const closed: string[] = [];
    const ui = mountUi({
      store: createUiStore({ status: 'starting' }),
      intents: recordingIntents(),
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      patchConsole: false,
      onOutputClosed: (r) => closed.push(r),
    });
    stdout.emit('error', err('EPIPE'));
    stdin.emit('error', err('EIO'));
    await waitFor(() => closed.length === 1, 'onOutputClosed');
    expect(closed[0]).toContain('EPIPE');
    expect(ui.outputClosed()).toBe(true);
    ui.unmount();
    // Late errors after unmount are swallowed too.
    expect(() => stdout.emit('error', err('EPIPE'))).not.toThrow();
  });
});
