import { describe, expect, it } from 'vitest';
import { Shutdown, StopRequested } from '../../src/demo/shutdown.js';

describe('Shutdown', () => {
  it('tells listeners once, and races work against the request', async () => {
    const s = new Shutdown();
    const heard: string[] = [];
    s.onRequest((r) => heard.push(r));
    const slow = new Promise<string>((resolve) => setTimeout(() => resolve('done'), 5_000).unref());
    const raced = s.race(slow);
    s.request('the operator quit');
    s.request('again');
    await expect(raced).rejects.toBeInstanceOf(StopRequested);
    await expect(s.requested).resolves.toBe('the operator quit');
    expect(heard).toEqual(['the operator quit']);
    const late: string[] = [];
    s.onRequest((r) => late.push(r));
    expect(late).toEqual(['the operator quit']);
  });

  it('runs cleanups once, newest first, past failures and timeouts', async () => {
    const s = new Shutdown({ cleanupTimeoutMs: 100 });
    const order: string[] = [];
    s.add('postgres', () => void order.push('postgres'));
    s.add('hangs', () => new Promise<void>(() => order.push('hangs')));
    s.add('throws', () => {
      order.push('throws');
      throw new Error('boom');
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await Promise.all([s.cleanup(), s.cleanup()]);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(order).toEqual(['throws', 'hangs', 'postgres']);
    expect(warnings.join()).toMatch(/throws: boom.*hangs: timed out/);
  });

  it('turns a signal into a stop request', async () => {
    const s = new Shutdown();
    s.installSignals(['SIGUSR2']);
    process.kill(process.pid, 'SIGUSR2');
    await expect(s.requested).resolves.toMatch(/SIGINT|SIGUSR2|interrupted/);
    expect(s.signal).toBe('SIGUSR2');
    await s.cleanup();
  });
});
