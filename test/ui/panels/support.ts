// Helpers for the monitor panel tests: real samples from the real monitor, frames without ANSI.
import { stripVTControlCharacters } from 'node:util';
import { resolveConnection } from '../../../src/pg/connection.js';
import { Monitor, type MonitorOptions } from '../../../src/monitor/monitor-poller.js';
import type { MonitorSample } from '../../../src/monitor/monitor-types.js';

export async function realSample(url: string, opts: MonitorOptions = {}, polls = 1): Promise<MonitorSample> {
  const m = Monitor.connect(resolveConnection(url), { longQuerySeconds: 0, ...opts });
  try {
    let s = await m.poll();
    for (let i = 1; i < polls; i++) s = await m.poll();
    return s;
  } finally {
    await m.stop();
  }
}

export function lines(frame: string | undefined): string[] {
  return stripVTControlCharacters(frame ?? '').split('\n');
}

/** SGR colour codes (30-37, 90-97, 38;…, and backgrounds); bold/dim are styles, not colours. */
export function hasColorCodes(frame: string | undefined): boolean {
  return /\x1b\[(3[0-8]|9[0-7]|4[0-8]|10[0-7])(;\d+)*m/.test(frame ?? '');
}

export async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
